// @ts-check
/**
 * ParentRoutes: the kernel's iopub messages about messages the page sent (their `status`,
 * the outputs an Output widget captures), which carry no comm_id.
 * @module parent_routes
 */

import { guarded } from "./util.js";

/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./comm.js").StatusCallback} StatusCallback
 */

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
     * The server's `watch_status_request`: not wanted, wanted (to send once attached), sent
     * to our client on the server, refused by the server.
     * @type {"off" | "wanted" | "sent" | "refused"}
     */
    this.watch = "off";
  }

  /** The kernel's status is wanted from now on (each new client on the server is asked again). */
  want() {
    if (this.watch === "off") this.watch = "wanted";
  }

  /** A new client on the server (not a resumed one): it must be asked again. */
  new_client() {
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
