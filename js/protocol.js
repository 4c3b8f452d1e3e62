// @ts-check
/**
 * The bridge protocol's own words and numbers, as the server has them in
 * `jupyter_comm_bridge/protocol.py` (a Python test imports this module and compares
 * every export). Only what both sides must agree on lives here.
 * @module protocol
 */

/** The websocket subprotocol of jupyter_server's v1 kernel protocol. */
export const V1_PROTOCOL = "v1.kernel.websocket.jupyter.org";
/** Messages on this channel are answered by the server itself, never forwarded. */
export const BRIDGE_CHANNEL = "bridge";
export const HELLO = "bridge_hello";
export const ACK = "bridge_ack";
export const ERROR = "bridge_error";
export const STATUS = "bridge_status";
/** The next counted frame's big buffers follow it, each in a binary frame of its own:
 * `{buffers: [positions]}` (asked for with BUFFER_FRAMES_PARAM). */
export const BUFFERS = "bridge_buffers";
/** Bridge request: from then on, also the iopub status of the client's own messages. */
export const WATCH_STATUS_REQUEST = "watch_status_request";
/** Query parameter: `?resumable=1` asks for the resume layer (hello, acks, replay): the
 * server keeps the client for its reconnect window when the websocket drops. */
export const RESUMABLE_PARAM = "resumable";
/** Query parameter: `?resume=n` on a reconnect, n the counted frames we have. */
export const RESUME_PARAM = "resume";
/** Query parameter: `?buffer_frames=1` asks for big buffers in frames of their own, which
 * the browser hands over as ArrayBuffers of their own (no copy out of a message's frame). */
export const BUFFER_FRAMES_PARAM = "buffer_frames";
/** Acknowledge at least every this many counted frames. */
export const ACK_EVERY = 64;
/** ...and whenever max_queued_bytes / ACK_BYTES_DIVISOR bytes arrived since the last ack. */
export const ACK_BYTES_DIVISOR = 4;
/** ...and at the latest every ACK_BYTES_MAX bytes (both sides): each side keeps a copy
 * of what it sent until then (the server frees big buffers, pycomm reuses their memory). */
export const ACK_BYTES_MAX = 4 * 1024 * 1024;
/** Reconnect after this many heartbeat intervals without a frame. */
export const MISSED_HEARTBEATS = 3;
/** Close codes after which reconnecting cannot help (replaced; kernel gone). */
export const FINAL_CLOSE_CODES = Object.freeze([4000, 4004]);
/** Close codes that end the client: its comms are gone. */
export const CLIENT_END_CODES = Object.freeze([4008, 4009]);
