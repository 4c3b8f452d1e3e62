// @ts-check
/**
 * One comm, opened by the page (`new_comm`/`open`) or by the kernel (a target); and
 * ParentRoutes, the kernel's iopub messages about messages the page sent (their
 * `status`, the outputs an Output widget captures), which carry no comm_id.
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
   * its `idle` (the widget manager throttles on them; see KernelConnection._watch_status).
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

/** At most this many sent messages wait for their `idle` status; past it the oldest is let go. */
export const MAX_STATUS_HOOKS = 1000;

/**
 * Routes the kernel's iopub messages that have no comm_id by their `parent_header.msg_id`:
 * `status` messages to the status callback of the message sent (kept until its `idle`),
 * other messages to the handler that captures that msg_id (the last one registered, as
 * JupyterLab's message hooks: nested Output widgets capture the same msg_id).
 */
export class ParentRoutes {
  /**
   * @param {Pick<Console, "error" | "warn">} log
   * @param {(msg_type: string, content: Record<string, any>, metadata?: Record<string, any>) => Message} local
   *   makes a message about something that happened here
   */
  constructor(log, local) {
    /** @private */ this._log = log;
    /** @private */ this._local = local;
    /** @type {Map<string, StatusCallback>} */ this.hooks = new Map();
    /** @type {Map<string, ((msg: Message) => void)[]>} */ this.captures = new Map();
    /**
     * The server's `watch_status_request`: not wanted, wanted (to send when the session is up),
     * sent in this session, refused by the server.
     * @type {"off" | "wanted" | "sent" | "refused"}
     */
    this.watch = "off";
  }

  /** The kernel's status is wanted, in every session from now on. */
  want() {
    if (this.watch === "off") this.watch = "wanted";
  }

  /** A new session (not a resumed one): the server must be asked again. */
  new_session() {
    if (this.watch !== "off") this.watch = "wanted";
  }

  /** Whether to send the watch request now; it then counts as sent. */
  due() {
    if (this.watch !== "wanted") return false;
    this.watch = "sent";
    return true;
  }

  /** The server refused the watch request (an older server). @param {string} why */
  refused(why) {
    this.watch = "refused";
    this._log.warn(`pycomm: no kernel status from the server (${why}); widgets send every change`);
    this.settle_all(why);
  }

  /**
   * Keep `on_status` for the message `msg_id` until its `idle`.
   * @param {string} msg_id
   * @param {StatusCallback} on_status
   */
  hook(msg_id, on_status) {
    this.hooks.set(msg_id, on_status);
    if (this.hooks.size > MAX_STATUS_HOOKS) {
      this.settle(this.hooks.keys().next().value ?? "", "too many messages wait for their status");
    }
    // sent before the watch, or refused: no status will come; an idle made here, once the caller has the msg_id
    if (this.watch !== "sent") queueMicrotask(() => this.settle(msg_id, "no kernel status for it"));
  }

  /**
   * The status of `msg_id` will not come: give its callback an `idle` made here
   * (`metadata.reason` says why), so that nothing waits for it forever.
   * @param {string} msg_id
   * @param {string} reason
   */
  settle(msg_id, reason) {
    const callback = this.hooks.get(msg_id);
    if (!callback) return;
    this.hooks.delete(msg_id);
    const msg = this._local("status", { execution_state: "idle" }, { reason });
    msg.parent_header = { msg_id };
    guarded(this._log, `status callback of ${msg_id}`, () => callback(msg));
  }

  /** @param {string} reason */
  settle_all(reason) {
    for (const msg_id of [...this.hooks.keys()]) this.settle(msg_id, reason);
  }

  /** @param {string} msg_id @param {(msg: Message) => void} handler */
  capture(msg_id, handler) {
    this.captures.set(msg_id, [...(this.captures.get(msg_id) || []), handler]);
  }

  /** @param {string} msg_id @param {(msg: Message) => void} [handler] (every handler without) */
  release(msg_id, handler) {
    const left = handler ? (this.captures.get(msg_id) || []).filter((h) => h !== handler) : [];
    if (left.length) this.captures.set(msg_id, left);
    else this.captures.delete(msg_id);
  }

  /**
   * Route an iopub message without comm_id; true when it is one of ours (every `status` is).
   * @param {Message} msg
   */
  route(msg) {
    const msg_id = msg.parent_header?.msg_id;
    if (msg.header.msg_type === "status") {
      const callback = this.hooks.get(msg_id);
      if (msg.content.execution_state === "idle") this.hooks.delete(msg_id);
      if (callback) guarded(this._log, `status callback of ${msg_id}`, () => callback(msg));
      return true;
    }
    const handler = this.captures.get(msg_id)?.at(-1);
    if (handler) guarded(this._log, `output capture of ${msg_id}`, () => handler(msg));
    return Boolean(handler);
  }
}
