// @ts-check
/**
 * One comm, opened by the page (`new_comm`/`open`) or by the kernel (a target).
 * @module comm
 */

import { guarded } from "./util.js";

/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./wire.js").BufferLike} BufferLike
 */

/**
 * What a Comm needs from its connection (a KernelConnection gives it this, not itself).
 * @typedef {object} CommHost
 * @property {(msg_type: string, content: Record<string, any>, metadata?: Record<string, any>,
 *             buffers?: BufferLike[]) => string} send  send on the shell channel; returns the msg_id
 * @property {(msg_type: string, content: Record<string, any>, metadata?: Record<string, any>,
 *             msg_id?: string) => Message} local  a message about something that happened here, for callbacks
 * @property {(comm: Comm) => void} forget  the comm is closed: drop it
 * @property {Pick<Console, "error">} log
 */

export class Comm {
  /**
   * @param {CommHost} host
   * @param {string} comm_id
   * @param {string} target_name
   */
  constructor(host, comm_id, target_name) {
    this.comm_id = comm_id;
    this.target_name = target_name;
    this.closed = false;
    /** @private */ this._host = host;
    /** @type {{resolve: () => void, reject: (e: Error) => void} | null} @private */
    this._opening = null;
    /**
     * For comms opened from the page: resolves once the kernel lists the comm as open;
     * rejects with the reason when it did not open it (no such target, no comm support,
     * no answer). Kernel-opened comms are open from the start.
     * @type {Promise<void>}
     */
    this.opened = new Promise((resolve, reject) => (this._opening = { resolve, reject }));
    this.opened.catch(() => {}); // reported on the console and through on_close, not unhandled
    /** @type {((msg: Message) => void) | null} @private */ this._on_msg = null;
    /** @type {((msg: Message) => void) | null} @private */ this._on_close = null;
  }

  /**
   * Send data (any JSON value) to the kernel side of the comm; returns the msg_id.
   * @param {any} data
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   */
  send(data, metadata, buffers) {
    if (this.closed) throw new Error(`pycomm: comm ${this.comm_id} is closed`);
    const content = { comm_id: this.comm_id, data: data === undefined ? {} : data };
    return this._host.send("comm_msg", content, metadata, buffers);
  }

  /** Set the callback for messages from the kernel (replaces the previous one).
   * @param {(msg: Message) => void} callback */
  on_msg(callback) {
    this._on_msg = callback;
  }

  /** Set the callback for the comm's close, from either side (replaces the previous one).
   * @param {(msg: Message) => void} callback */
  on_close(callback) {
    this._on_close = callback;
  }

  /**
   * Close the comm: tells the kernel, then calls the on_close callback.
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   */
  close(data, metadata, buffers) {
    if (this.closed) return;
    const content = { comm_id: this.comm_id, data: data === undefined ? {} : data };
    const msg_id = this._host.send("comm_close", content, metadata, buffers);
    this._handle_close(this._host.local("comm_close", content, metadata, msg_id));
  }

  /** @param {Message} msg @internal */
  _handle_msg(msg) {
    const callback = this._on_msg;
    if (callback) guarded(this._host.log, `on_msg of comm ${this.comm_id}`, () => callback(msg));
  }

  /** @param {Error | null} error @internal */
  _settle(error) {
    const opening = this._opening;
    this._opening = null;
    if (opening) error ? opening.reject(error) : opening.resolve();
  }

  /** @param {Message} msg @internal */
  _handle_close(msg) {
    if (this.closed) return;
    this.closed = true;
    this._settle(new Error(`pycomm: comm ${this.comm_id} closed: ${msg.metadata?.reason || "by the kernel"}`));
    this._host.forget(this);
    const callback = this._on_close;
    if (callback) guarded(this._host.log, `on_close of comm ${this.comm_id}`, () => callback(msg));
  }
}
