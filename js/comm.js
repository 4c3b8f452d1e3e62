// @ts-check
/**
 * One comm, opened by the page (`new_comm`/`open`) or by the kernel (a target).
 * @module comm
 */

import { guarded } from "./util.js";

/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./wire.js").BufferLike} BufferLike
 * @typedef {(msg: Message) => void} StatusCallback  gets the kernel's iopub `status` messages
 *   (busy, idle) of one message sent
 */

/**
 * What a Comm needs from its connection (a KernelConnection gives it this, not itself).
 * @typedef {object} CommHost
 * @property {(msg_type: string, content: Record<string, any>, metadata?: Record<string, any>,
 *             buffers?: BufferLike[], on_status?: StatusCallback) => string} send  send on the
 *   shell channel; returns the msg_id
 * @property {(msg_type: string, content: Record<string, any>, metadata?: Record<string, any>,
 *             msg_id?: string) => Message} local  a message about something that happened here, for callbacks
 * @property {(comm: Comm) => void} forget  the comm is closed: drop it
 * @property {(target_name: string) => Promise<Record<string, any>>} comm_info  the kernel's open comms
 * @property {Pick<Console, "error" | "warn">} log
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
    return this._send(data, metadata, buffers);
  }

  /**
   * `send`, and call `on_status` with the kernel's status messages of this message, up to
   * its `idle` (the widget manager throttles on them; see WidgetHost.watch_status).
   * @param {any} data
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @param {StatusCallback} [on_status]
   * @internal
   */
  _send(data, metadata, buffers, on_status) {
    if (this.closed) throw new Error(`pycomm: comm ${this.comm_id} is closed`);
    const content = { comm_id: this.comm_id, data: data === undefined ? {} : data };
    return this._host.send("comm_msg", content, metadata, buffers, on_status);
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

  /**
   * Ask the kernel whether it opened this comm, opened by the page (comm_info, which the bridge
   * sends after the comm_open on the same shell): a kernel without the target, or without comm
   * support, answers without it, and the comm closes with that reason instead of staying silent.
   * @param {number} ms how long to wait for the answer (0: don't ask)
   * @param {{setTimeout?: (fn: () => void, ms: number) => any, clearTimeout?: (handle: any) => void}} timers
   * @internal
   */
  _check_open(ms, timers) {
    if (!ms) return this._settle(null);
    const timer = (timers.setTimeout || setTimeout)(() => {
      this._settle(new Error(`pycomm: the kernel did not confirm comm ${this.comm_id} within ` +
        `${ms / 1000}s: it is busy, or it does not support comms`));
    }, ms);
    const done = () => (timers.clearTimeout || clearTimeout)(timer);
    this._host.comm_info(this.target_name).then((comms) => {
      done();
      if (this.comm_id in comms || this.closed) return this._settle(null);
      const reason = `the kernel did not open the comm: it has no target "${this.target_name}", ` +
        "or does not support comms opened from the page";
      this._host.log.warn(`pycomm: comm ${this.comm_id}: ${reason}`);
      const content = { comm_id: this.comm_id, data: {} };
      this._host.send("comm_close", content);
      this._handle_close(this._host.local("comm_close", content, { reason }));
    }, (/** @type {Error} */ e) => (done(), this._settle(e)));
  }

  /** @param {Error | null} error @internal */
  _settle(error) {
    const opening = this._opening;
    this._opening = null;
    if (opening) error ? opening.reject(error) : opening.resolve();
  }

  /** Call the on_close callback again with `msg`: the close was held for a later callback
   * (classic.js). @param {Message} msg @internal */
  _replay_close(msg) {
    const callback = this._on_close;
    if (this.closed && callback) guarded(this._host.log, `on_close of comm ${this.comm_id}`, () => callback(msg));
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
