// @ts-check
/**
 * Jupyter messages and their v1 frames (`v1.kernel.websocket.jupyter.org`).
 * @module wire
 */

import { uuid } from "./util.js";

/**
 * @typedef {{msg_id: string, msg_type: string, session: string, username: string,
 *            date: string, version: string}} Header
 * @typedef {{channel: string, header: Header, parent_header: Record<string, any>,
 *            metadata: Record<string, any>, content: Record<string, any>,
 *            buffers: DataView[]}} Message
 * @typedef {ArrayBuffer | ArrayBufferView} BufferLike
 * @typedef {{channel: string, header: Header, parent_header: Record<string, any>,
 *            metadata: Record<string, any>, content: Record<string, any>,
 *            buffers: BufferLike[]}} OutgoingMessage
 */

/** The Jupyter message protocol version in the headers we write. */
export const PROTOCOL_VERSION = "5.3";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A new message from this page.
 * @param {string} session the session_id of the bridge connection
 * @param {string} channel
 * @param {string} msg_type
 * @param {Record<string, any>} content
 * @param {Record<string, any>} [metadata]
 * @param {BufferLike[]} [buffers]
 * @returns {OutgoingMessage}
 */
export function message(session, channel, msg_type, content, metadata, buffers) {
  return {
    channel,
    header: {
      msg_id: uuid(),
      msg_type,
      session,
      username: "",
      date: new Date().toISOString(),
      version: PROTOCOL_VERSION,
    },
    parent_header: {},
    metadata: metadata || {},
    content,
    buffers: buffers || [],
  };
}

/** @param {BufferLike} buffer */
function asBytes(buffer) {
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  throw new TypeError("pycomm: buffers must be ArrayBuffer or ArrayBufferView");
}

/**
 * Encode a message as one v1 frame: offset count, offsets, channel, header,
 * parent_header, metadata, content, buffers (little-endian u64 offsets).
 * @param {OutgoingMessage} msg
 * @param {(size: number) => Uint8Array | null} [reuse] memory to write a frame of `size`
 *   bytes into, if it has some (fresh memory costs page faults: big frames reuse it)
 * @returns {ArrayBuffer | Uint8Array} the frame: a new buffer, or a view of reused memory
 */
export function encode(msg, reuse) {
  const json = [msg.header, msg.parent_header, msg.metadata, msg.content];
  const chunks = [
    encoder.encode(msg.channel),
    ...json.map((part) => encoder.encode(JSON.stringify(part))),
    ...(msg.buffers || []).map(asBytes),
  ];
  const count = chunks.length + 1;
  const tableSize = 8 * (count + 1);
  const total = chunks.reduce((n, c) => n + c.byteLength, tableSize);
  const reused = reuse ? reuse(total) : null;
  const out = reused || new Uint8Array(total);
  const view = new DataView(out.buffer, out.byteOffset, total);
  const setU64 = (/** @type {number} */ at, /** @type {number} */ value) => {
    view.setUint32(at, value % 2 ** 32, true);
    view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
  };
  setU64(0, count);
  let offset = tableSize;
  chunks.forEach((chunk, i) => {
    setU64(8 * (i + 1), offset);
    out.set(chunk, offset);
    offset += chunk.byteLength;
  });
  setU64(8 * count, offset);
  return reused || /** @type {ArrayBuffer} */ (out.buffer);
}

/**
 * Decode one v1 frame. Each buffer is a DataView over an ArrayBuffer of its own, as
 * JupyterLab and the classic Notebook give them: page code reads `buffers[i].buffer`
 * (typed arrays, Apache Arrow's reader), which on a view into the frame would be the whole
 * frame. The JSON parts are read in place.
 * @param {ArrayBuffer} frame
 * @returns {Message}
 */
export function decode(frame) {
  const view = new DataView(frame);
  const getU64 = (/** @type {number} */ at) =>
    view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
  const count = getU64(0);
  if (count < 6 || 8 * (count + 1) > frame.byteLength) {
    throw new Error(`pycomm: bad frame (${count} offsets)`);
  }
  const offsets = Array.from({ length: count }, (_, i) => getU64(8 * (i + 1)));
  const slice = (/** @type {number} */ i) =>
    new Uint8Array(frame, offsets[i], offsets[i + 1] - offsets[i]);
  const parse = (/** @type {number} */ i) => JSON.parse(decoder.decode(slice(i)));
  const buffers = [];
  for (let i = 5; i < count - 1; i++) {
    buffers.push(new DataView(frame.slice(offsets[i], offsets[i + 1])));
  }
  return {
    channel: decoder.decode(slice(0)),
    header: parse(1),
    parent_header: parse(2),
    metadata: parse(3),
    content: parse(4),
    buffers,
  };
}
