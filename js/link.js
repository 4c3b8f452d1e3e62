// @ts-check
/**
 * BridgeLink: the bridge websocket of one kernel and the resume layer on it (hello, counted
 * frames, acks, replay).
 * It reports to its owner through a small callback interface (LinkEvents) and knows
 * nothing of comms beyond their ids.
 * @module link
 */

import {
  ACK,
  ACK_BYTES_DIVISOR,
  ACK_BYTES_MAX,
  ACK_EVERY,
  BRIDGE_CHANNEL,
  BUFFERS,
  CLIENT_END_CODES,
  FINAL_CLOSE_CODES,
  HELLO,
  MISSED_HEARTBEATS,
  RESUME_PARAM,
  V1_PROTOCOL,
} from "./protocol.js";
import { bridgeUrl } from "./urls.js";
import { guarded, uuid } from "./util.js";
import { decode, encode, message } from "./wire.js";

/** Reconnection delays (ms), the last one repeated. */
export const BACKOFF = [250, 500, 1000, 2000, 4000, 8000, 10000];
/** Give up on a websocket handshake after this long (a frozen server never answers). */
export const CONNECT_TIMEOUT = 10000;
/** Frames from this size on leave their memory for the next ones once acknowledged... */
export const SPARE_MIN = 64 * 1024;
/** ...and this many are kept (two in flight, each acknowledged within ACK_BYTES_MAX). */
export const SPARES = 2;

/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {ArrayBuffer | Uint8Array} Frame
 * @typedef {import("./boot.js").PageConfig} PageConfig
 * @typedef {"connecting" | "connected" | "disconnected"} Status
 * @typedef {{positions: number[], msg: Message | null, filled: number, bytes: number}} Apart
 *   a message whose buffers at `positions` come after it, each in a frame of its own
 * @typedef {{
 *   config: PageConfig,
 *   WebSocket: typeof WebSocket,
 *   location: {href: string},
 *   console?: Pick<Console, "error" | "warn" | "info">,
 *   setTimeout?: (fn: () => void, ms: number) => any,
 *   clearTimeout?: (handle: any) => void,
 *   setInterval?: (fn: () => void, ms: number) => any,
 *   clearInterval?: (handle: any) => void,
 *   now?: () => number,
 * }} LinkOptions
 */

/**
 * What a BridgeLink reports to its owner, and the two things it asks.
 * @typedef {object} LinkEvents
 * @property {(status: Status) => void} on_status  the socket's state (repeats are possible)
 * @property {(resumed: boolean) => void} on_attached  the websocket is attached to our client on
 *   the server (a new client, or resumed) and what was waiting has gone out: the owner may send
 *   again (`send` goes out at once)
 * @property {(why: string, comm_ids?: Set<string>) => void} on_client_lost  the server no longer
 *   has our client: those comms (every comm, without `comm_ids`) are gone there
 * @property {(why: string) => void} on_given_up  the link stopped for good (the kernel is gone,
 *   or another websocket attached to our client); `send` refuses from now on
 * @property {(msg: Message) => void} on_message  a counted frame from the bridge, decoded
 * @property {() => Set<string>} open_comm_ids  the ids of the comms open now
 * @property {() => Promise<boolean | null>} kernel_exists  asked after a failed handshake:
 *   false stops the retries, null means it cannot be told
 */

/**
 * Reconnects with backoff, resumes its client on the server (which replays what this page
 * missed, and says how much of what it sent arrived), acknowledges what it receives,
 * and watches the server's heartbeat. Control frames (bridge_hello, bridge_ack,
 * bridge_buffers) are not counted; every other frame is, a message and the buffer frames
 * that follow it (bridge_buffers) as one.
 */
export class BridgeLink {
  /**
   * @param {string} kernel_id
   * @param {LinkEvents} events
   * @param {LinkOptions} options
   */
  constructor(kernel_id, events, options) {
    this.kernel_id = kernel_id;
    this.events = events;
    this.options = options;
    this.log = options.console || console;
    this.session_id = uuid();
    /** @type {WebSocket | null} */ this.ws = null;
    this.ready = false; // hello received on the current socket
    this.had_client = false; // attached once: reconnects ask to resume
    this.given_up = false;
    this.attempt = 0;
    this.received = 0; // counted frames received from our client on the server
    this.unacked_bytes = 0; // bytes received since the last bridge_ack
    this.ack_bytes = ACK_BYTES_MAX; // at most max_queued_bytes / ACK_BYTES_DIVISOR (hello)
    this.acked = 0; // the last count acknowledged to the server
    this.next_index = 0; // index of the next counted frame we send
    /** @type {{index: number, frame: Frame, comm_id?: string}[]} sent or waiting, not acknowledged */
    this.unacked = [];
    /** @type {ArrayBuffer[]} memory of big acknowledged frames, for the next ones (reuse) */
    this.spare = [];
    this.heartbeat_ms = 2000;
    this.window_ms = 30000;
    this.last_frame = 0;
    this.connect_started = 0;
    /** @type {Set<string>} comms open when the connection dropped: gone if our client is */
    this.at_drop = new Set();
    this.end_reason = "";
    /** @type {any} */ this.window_timer = null;
    /** @type {any} */ this.watchdog = null;
    /** @type {Apart | null} a message whose big buffers are on their way (bridge_buffers) */
    this.apart = null;
  }

  /** @returns {number} */
  now() {
    return (this.options.now || Date.now)();
  }

  connect() {
    const { config, location, WebSocket: Socket } = this.options;
    const url = new URL(bridgeUrl(config, this.kernel_id, this.session_id, location));
    if (this.had_client) url.searchParams.set(RESUME_PARAM, String(this.received));
    const ws = new Socket(url.href, [V1_PROTOCOL]);
    ws.binaryType = "arraybuffer";
    this.apart = null; // (a message cut short by a drop is sent again, whole)
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.last_frame = this.now();
    };
    ws.onmessage = (event) => this.ws === ws && this.on_frame(event.data);
    ws.onclose = (event) => this.ws === ws && this.on_close(opened, event.code, event.reason);
    this.ws = ws;
    this.ready = false;
    this.connect_started = this.now();
    this.events.on_status("connecting");
    if (!this.watchdog) {
      const every = this.options.setInterval || setInterval;
      this.watchdog = every(() => this.tick(), 1000);
      this.watchdog?.unref?.(); // (node, in tests: the watchdog alone keeps nothing alive)
    }
  }

  /**
   * Memory for a frame of `size` bytes from an acknowledged big frame, if one is spare
   * (`encode`'s `reuse`): the server has it, so what was sent from there is no longer needed.
   * @param {number} size
   * @returns {Uint8Array | null}
   */
  reuse(size) {
    const i = this.spare.findIndex((buffer) => buffer.byteLength >= size);
    if (size < SPARE_MIN || i < 0) return null;
    return new Uint8Array(this.spare.splice(i, 1)[0], 0, size);
  }

  /**
   * Queue a counted frame; it goes out now if attached. False once given up.
   * @param {Frame} frame
   * @param {string} [comm_id] the comm it belongs to: kept across a lost client if still open
   */
  send(frame, comm_id) {
    if (this.given_up) return false;
    this.unacked.push({ index: this.next_index++, frame, comm_id });
    if (this.ready && this.ws) this.ws.send(frame);
    return true;
  }

  /** @param {ArrayBuffer | string} data */
  on_frame(data) {
    this.last_frame = this.now();
    if (this.apart?.msg && data instanceof ArrayBuffer) return this.buffer_frame(this.apart, data);
    let msg;
    try {
      if (typeof data === "string") throw new Error("text frame on the v1 protocol");
      msg = decode(data);
    } catch (e) {
      this.log.error("pycomm: could not decode a message from the bridge:", e);
      this.apart = null;
      this.count(0);
      return;
    }
    const type = msg.header.msg_type;
    if (msg.channel === BRIDGE_CHANNEL && type === HELLO) return this.on_hello(msg.content);
    if (msg.channel === BRIDGE_CHANNEL && type === ACK) return this.trim(msg.content.received);
    if (msg.channel === BRIDGE_CHANNEL && type === BUFFERS) {
      this.apart = { positions: msg.content.buffers, msg: null, filled: 0, bytes: 0 };
      return;
    }
    if (this.apart) {
      this.apart.msg = msg;
      return this.buffer_frame(this.apart, null, /** @type {ArrayBuffer} */ (data).byteLength);
    }
    this.deliver(msg, /** @type {ArrayBuffer} */ (data).byteLength);
  }

  /**
   * One of a message's big buffers, in a frame of its own: the browser's ArrayBuffer is
   * the buffer itself. The message goes on once it has them all.
   * @param {Apart} apart
   * @param {ArrayBuffer | null} buffer
   * @param {number} [bytes] the message frame's own size, when it is the one that came
   */
  buffer_frame(apart, buffer, bytes = 0) {
    const msg = /** @type {Message} */ (apart.msg);
    if (buffer) msg.buffers[apart.positions[apart.filled++]] = new DataView(buffer);
    apart.bytes += buffer ? buffer.byteLength : bytes;
    if (apart.filled < apart.positions.length) return;
    this.apart = null;
    this.deliver(msg, apart.bytes);
  }

  /** @param {Message} msg a counted message, whole @param {number} bytes its frames' size */
  deliver(msg, bytes) {
    this.count(bytes);
    guarded(this.log, `handling ${msg.header.msg_type}`, () => this.events.on_message(msg));
  }

  /**
   * Count a received frame; acknowledge every ACK_EVERY frames, and before the server's
   * bound on unacknowledged bytes (max_queued_bytes) comes near: large buffers fill it
   * in a few frames.
   * @param {number} bytes
   */
  count(bytes) {
    this.received += 1;
    this.unacked_bytes += bytes;
    if (this.received - this.acked >= ACK_EVERY || this.unacked_bytes >= this.ack_bytes) this.ack();
  }

  ack() {
    if (!this.ready || !this.ws) return;
    this.acked = this.received;
    this.unacked_bytes = 0;
    this.ws.send(encode(message(this.session_id, BRIDGE_CHANNEL, ACK, { received: this.received })));
  }

  /** @param {number} received how many of our counted frames the server has */
  trim(received) {
    while (this.unacked.length && this.unacked[0].index < received) {
      const { frame } = /** @type {{frame: Frame}} */ (this.unacked.shift());
      const buffer = frame instanceof ArrayBuffer ? frame : /** @type {ArrayBuffer} */ (frame.buffer);
      if (buffer.byteLength >= SPARE_MIN && !this.spare.includes(buffer)) {
        this.spare = [buffer, ...this.spare].slice(0, SPARES);
      }
    }
  }

  /** @param {Record<string, any>} hello */
  on_hello(hello) {
    const ws = /** @type {WebSocket} */ (this.ws);
    this.heartbeat_ms = 1000 * (hello.heartbeat || 2);
    this.window_ms = 1000 * (hello.reconnect_window ?? 30);
    if (hello.max_queued_bytes > 0) {
      this.ack_bytes = Math.min(ACK_BYTES_MAX, hello.max_queued_bytes / ACK_BYTES_DIVISOR);
    }
    this.attempt = 0;
    (this.options.clearTimeout || clearTimeout)(this.window_timer);
    this.window_timer = null; // the next drop starts the window again
    if (hello.resumed) {
      this.trim(hello.received);
    } else if (this.had_client) {
      this.client_lost(this.end_reason || hello.reason || "the server ended this client");
    }
    this.had_client = true;
    this.ready = true;
    this.at_drop = new Set();
    this.end_reason = "";
    for (const entry of this.unacked) ws.send(entry.frame);
    this.events.on_attached(Boolean(hello.resumed));
  }

  /**
   * A new client on the server replaced ours: the comms open at the drop are gone, and the
   * count starts again.
   * @param {string} why
   */
  client_lost(why) {
    this.events.on_client_lost(why, this.at_drop);
    // What is left was never received by any server: comms opened while away.
    const open = this.events.open_comm_ids();
    const keep = this.unacked.filter((e) => e.comm_id && open.has(e.comm_id));
    this.unacked = keep.map((e, index) => ({ ...e, index }));
    this.next_index = keep.length;
    this.received = this.acked = 0;
  }

  /** @param {boolean} opened @param {number} code @param {string} reason */
  on_close(opened, code, reason) {
    if (this.ready) this.at_drop = new Set(this.events.open_comm_ids());
    this.ws = null;
    this.ready = false;
    this.events.on_status("disconnected");
    if (this.given_up) return;
    const why = reason || `the bridge connection closed (code ${code})`;
    if (FINAL_CLOSE_CODES.includes(code)) return this.give_up(`kernel ${this.kernel_id}: ${why}`);
    if (CLIENT_END_CODES.includes(code)) this.end_reason = why;
    if (this.had_client && !this.window_timer) {
      const later = this.options.setTimeout || setTimeout;
      this.window_timer = later(() => {
        this.window_timer = null;
        const lost = `disconnected for longer than the ${this.window_ms / 1000}s reconnect window`;
        this.events.on_client_lost(lost, this.at_drop);
      }, this.window_ms);
    }
    if (opened) return this.retry();
    this.events.kernel_exists().then((exists) =>
      exists === false
        ? this.give_up(`kernel ${this.kernel_id} does not exist (output from an earlier server run?)`)
        : this.retry(),
    );
  }

  retry() {
    if (this.given_up) return;
    const delay = BACKOFF[Math.min(this.attempt++, BACKOFF.length - 1)];
    (this.options.setTimeout || setTimeout)(() => this.given_up || this.connect(), delay);
  }

  /** Every second: acknowledge, and drop a connection whose server went quiet. */
  tick() {
    const ws = this.ws;
    if (!ws) return;
    const waiting = this.now() - (ws.readyState === 1 ? this.last_frame : this.connect_started);
    if (ws.readyState === 1 && this.received > this.acked) this.ack();
    const limit = ws.readyState === 1 ? MISSED_HEARTBEATS * this.heartbeat_ms : CONNECT_TIMEOUT;
    if (waiting > limit) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close(4001, "the server went quiet");
      this.on_close(ws.readyState !== 0, 4001, "the server went quiet");
    }
  }

  /** @param {string} why */
  give_up(why) {
    this.given_up = true;
    (this.options.clearInterval || clearInterval)(this.watchdog);
    this.unacked = [];
    this.events.on_given_up(why);
  }
}
