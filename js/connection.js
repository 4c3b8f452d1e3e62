// @ts-check
/**
 * KernelConnection: the pycomm API bound to one kernel, over one BridgeLink.
 * @module connection
 */

import { classicNames, ClassicKernel } from "./classic.js";
import { Comm, ParentRoutes } from "./comm.js";
import { BridgeLink, CONNECT_TIMEOUT } from "./link.js";
import { BRIDGE_CHANNEL, ERROR, STATUS, WATCH_STATUS_REQUEST } from "./protocol.js";
import { Targets } from "./targets.js";
import { kernelExists } from "./urls.js";
import { guarded, uuid } from "./util.js";
import { encode, message } from "./wire.js";

/** How many comms closed by the kernel a connection remembers (see `_bridge_error`). */
const KERNEL_CLOSED_LIMIT = 256;
/** ms a page-opened comm waits for the kernel to confirm it (comm_info) before `opened` rejects. */
export const OPEN_CHECK = 10000;
/** The bridge request that asks for the iopub `status` messages of this client's own messages. */


/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./wire.js").OutgoingMessage} OutgoingMessage
 * @typedef {import("./wire.js").BufferLike} BufferLike
 * @typedef {import("./link.js").Status} Status
 * @typedef {import("./link.js").LinkEvents} LinkEvents
 * @typedef {import("./comm.js").CommHost} CommHost
 * @typedef {{metadata?: Record<string, any>, buffers?: BufferLike[]}} SendOptions
 * @typedef {import("./targets.js").TargetCallback} TargetCallback
 * @typedef {import("./targets.js").Listener} Listener
 * @typedef {import("./comm.js").StatusCallback} StatusCallback
 * @typedef {{display_widget(model_id: string, element: Element): Promise<void>}} WidgetManager
 *   the widget manager of one connection (js/widgets/, bundled as `widgets.js`)
 * @typedef {import("./link.js").LinkOptions & {
 *   fetch?: typeof fetch,
 *   open_check?: number,
 *   widgets?: (connection: KernelConnection) => Promise<WidgetManager>,
 * }} ConnectionOptions  (`widgets` loads the widget manager: pycomm.js's loadWidgets)
 */

export class KernelConnection {
  /**
   * @param {string} kernel_id
   * @param {ConnectionOptions} options
   */
  constructor(kernel_id, options) {
    this.kernel_id = kernel_id;
    /** @type {Status} */
    this.status = "connecting";
    this.options = options;
    this.log = options.console || console;
    this.link = new BridgeLink(kernel_id, this._link_events(), options);
    this.session_id = this.link.session_id;
    /** @type {CommHost} @private */
    this._comm_host = {
      send: (msg_type, content, metadata, buffers, on_status) =>
        this._send_message(msg_type, content, metadata, buffers, on_status),
      local: (msg_type, content, metadata, msg_id) => this._local_message(msg_type, content, metadata, msg_id),
      forget: (comm) => this._forget(comm),
      comm_info: (target_name) => this.comm_info(target_name),
      log: this.log,
    };
    /** @type {Map<string, Comm>} */ this._comms = new Map();
    /** @private */ this._targets = new Targets();
    /** @type {Map<string, Comm>} */ this._shared = new Map();
    /** @type {Map<string, {resolve: (m: Message) => void, reject: (e: Error) => void}>} */
    this._requests = new Map();
    /** @type {Set<(status: Status) => void>} */ this._status_callbacks = new Set();
    /** @private */ this._routes = new ParentRoutes(this.log, (t, c, m) => this._local_message(t, c, m));
    /** @type {Promise<WidgetManager> | null} @private */ this._widgets = null;
    /** @type {ClassicKernel | null} @private */ this._classic = null;
    /** Comms the kernel closed lately (a message sent meanwhile is refused: that is no error).
     * @type {Set<string>} @private */ this._kernel_closed = new Set();
    /** @type {(() => void) | null} */ this._resolve_ready = null;
    /** @type {((e: Error) => void) | null} */ this._reject_ready = null;
    /** @type {Promise<void>} Resolves when the bridge connection is up. */
    this.ready = new Promise((resolve, reject) => {
      this._resolve_ready = resolve;
      this._reject_ready = reject;
    });
    this.ready.catch(() => {}); // a rejection is reported on the console, not as unhandled
  }

  // --- the public API -------------------------------------------------------

  /**
   * Open a comm from the page (classic Notebook signature).
   * @param {string} target_name
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   */
  new_comm(target_name, data, metadata, buffers) {
    return this._open_comm(target_name, data, metadata, buffers);
  }

  /**
   * Open a comm from the page (options object).
   * @param {string} target_name
   * @param {any} [data]
   * @param {SendOptions} [options]
   */
  open(target_name, data, options = {}) {
    return this._open_comm(target_name, data, options.metadata, options.buffers);
  }

  /**
   * Handle comms the kernel opens for `target_name`.
   * @param {string} target_name
   * @param {TargetCallback} callback
   */
  register_target(target_name, callback) {
    this._targets.callbacks.set(target_name, callback);
    this._sync_targets();
  }

  /** @param {string} target_name */
  unregister_target(target_name) {
    this._targets.callbacks.delete(target_name);
    this._sync_targets();
  }

  /**
   * Send on the page's shared comm for `target_name` (opened on first use).
   * @param {string} target_name
   * @param {any} data
   * @param {SendOptions} [options]
   */
  send(target_name, data, options = {}) {
    let comm = this._shared.get(target_name);
    if (!comm || comm.closed) {
      comm = this._open_comm(target_name, {});
      this._shared.set(target_name, comm);
    }
    return comm.send(data, options.metadata, options.buffers);
  }

  /**
   * Call `listener(data, msg)` for what the kernel sends on comms of `target_name`
   * (comms the page opened, and comms the kernel opens: they are accepted).
   * Returns a function that removes the listener.
   * @param {string} target_name
   * @param {Listener} listener
   */
  on(target_name, listener) {
    const remove = this._targets.listen(target_name, listener);
    this._sync_targets();
    return () => {
      remove();
      this._sync_targets();
    };
  }

  /**
   * The kernel's open comms that this connection may see, as `{comm_id: {target_name}}`.
   * @param {string} [target_name]
   * @returns {Promise<Record<string, {target_name: string}>>}
   */
  async comm_info(target_name) {
    const content = target_name === undefined ? {} : { target_name };
    const msg = this._message("shell", "comm_info_request", content);
    const reply = await new Promise((resolve, reject) => {
      this._requests.set(msg.header.msg_id, { resolve, reject });
      this._send(msg);
    });
    return reply.content.comms || {};
  }

  /**
   * Call `callback(status)` whenever the status changes; returns an unsubscribe function.
   * @param {(status: Status) => void} callback
   */
  on_status(callback) {
    this._status_callbacks.add(callback);
    return () => this._status_callbacks.delete(callback);
  }

  /** Open the bridge connection (the Root calls this once). */
  connect() {
    this.link.connect();
  }

  /**
   * Show widget model `model_id` in `element` (what the server's widget outputs call); the widget
   * manager loads on first use. Never throws into the page. @param {string} model_id
   * @param {Element} element @returns {Promise<void>}
   */
  display_widget(model_id, element) {
    const load = this.options.widgets || (() => Promise.reject(new Error("pycomm: no widget manager here")));
    this._widgets ??= load(this);
    return this._widgets.then((manager) => manager.display_widget(model_id, element)).catch((e) => {
      this.log.error(`pycomm: widget ${model_id} not shown:`, e);
      if (element) element.textContent = "Widget not shown: the widget code could not be loaded (see the browser console).";
    });
  }

  /**
   * The classic Notebook's `Jupyter` object for the code of an output written against it
   * (classic.js; the server binds it for those outputs). On a classic Notebook page, the
   * page's own. @param {any} element the output's element, or null
   * @returns {Promise<Record<string, any>>}
   */
  async classic(element) {
    const page = /** @type {any} */ (globalThis).Jupyter;
    if (page?.notebook?.kernel) return page;
    const timers = {
      setTimeout: this.options.setTimeout || setTimeout,
      clearTimeout: this.options.clearTimeout || clearTimeout,
      requestAnimationFrame: globalThis.requestAnimationFrame?.bind(globalThis),
    };
    this._classic ??= new ClassicKernel(this, timers);
    return classicNames(this._classic, element);
  }

  // --- for the widget manager (js/widgets/) -----------------------------------------------

  /** A Comm for a comm the kernel has open (sends no comm_open), or the one known.
   * @param {string} comm_id @param {string} target_name @internal */
  _adopt(comm_id, target_name) {
    const known = this._comms.get(comm_id);
    if (known) return known;
    const comm = new Comm(this._comm_host, comm_id, target_name);
    comm._settle(null);
    this._comms.set(comm_id, comm);
    return comm;
  }

  /** Ask the server for the kernel status of our messages, in every session from now on. @internal */
  _watch_status() {
    this._routes.want();
    this._sync_status_watch();
  }

  /** @private */
  _sync_status_watch() {
    if (this.link.ready && this._routes.due()) this._send(this._message(BRIDGE_CHANNEL, WATCH_STATUS_REQUEST, {}));
  }

  /** Send the kernel's iopub messages without comm_id whose parent is `msg_id` to `handler`.
   * @param {string} msg_id @param {(msg: Message) => void} handler @internal */
  _capture(msg_id, handler) {
    this._routes.capture(msg_id, handler);
  }

  /** @param {string} msg_id @param {(msg: Message) => void} [handler] (all of them without) @internal */
  _release(msg_id, handler) {
    this._routes.release(msg_id, handler);
  }

  // --- what the link reports ----------------------------------------------------

  /** @returns {LinkEvents} @private */
  _link_events() {
    return {
      on_status: (status) => this._set_status(status),
      on_session_up: (resumed) => this._session_up(resumed),
      on_session_lost: (why, comm_ids) => this._session_lost(why, comm_ids),
      on_given_up: (why) => this._given_up(why),
      on_message: (msg) => this._dispatch(msg),
      open_comm_ids: () => new Set(this._comms.keys()),
      kernel_exists: () => {
        const { fetch: get, config, location } = this.options;
        return kernelExists(get, config, this.kernel_id, location, CONNECT_TIMEOUT);
      },
    };
  }

  /** @param {Status} status @private */
  _set_status(status) {
    if (this.status === status) return;
    this.status = status;
    for (const callback of [...this._status_callbacks]) {
      guarded(this.log, "on_status callback", () => callback(status));
    }
  }

  /** The session is up (new or resumed). @param {boolean} resumed @private */
  _session_up(resumed) {
    if (!resumed) {
      this._targets.registered.clear();
      this._routes.new_session();
    }
    this._sync_targets();
    this._sync_status_watch();
    this._set_status("connected");
    this._resolve_ready?.();
  }

  /**
   * The server no longer has this page's session: its comms are gone.
   * @param {string} why
   * @param {Set<string>} [only] just these comms (others were opened since, not sent yet)
   * @private
   */
  _session_lost(why, only) {
    for (const comm of [...this._comms.values()]) {
      if (only && !only.has(comm.comm_id)) continue;
      const content = { comm_id: comm.comm_id, data: {} };
      comm._handle_close(this._local_message("comm_close", content, { reason: why }));
    }
    this._routes.settle_all(why);
    const error = new Error(`pycomm: ${why}`);
    for (const request of this._requests.values()) request.reject(error);
    this._requests.clear();
  }

  /** @param {string} why @private */
  _given_up(why) {
    this._session_lost(why);
    this._set_status("disconnected");
    this.log.error(`pycomm: ${why}; not reconnecting.`);
    this._reject_ready?.(new Error(`pycomm: ${why}`));
  }

  // --- incoming -----------------------------------------------------------------

  /** @param {Message} msg @private */
  _dispatch(msg) {
    const type = msg.header.msg_type;
    const comm = this._comms.get(msg.content.comm_id);
    if (msg.channel === BRIDGE_CHANNEL) {
      if (type === ERROR) this._bridge_error(msg);
      if (type === STATUS) {
        const { kernel_connection, reason } = msg.content;
        this.log.info(`pycomm: kernel ${this.kernel_id}: ${kernel_connection}${reason ? ` (${reason})` : ""}`);
      }
    } else if (msg.channel === "iopub" && !("comm_id" in msg.content)) {
      this._routes.route(msg); // status, captured outputs
    } else if (type === "comm_open") {
      this._kernel_opened(msg);
    } else if (type === "comm_msg") {
      comm?._handle_msg(msg);
      this._targets.notify(comm?.target_name, msg, this.log);
    } else if (type === "comm_close") {
      this._kernel_closed.add(msg.content.comm_id);
      const oldest = this._kernel_closed.values().next().value;
      if (this._kernel_closed.size > KERNEL_CLOSED_LIMIT && oldest !== undefined) this._kernel_closed.delete(oldest);
      comm?._handle_close(msg);
    }
    const request = this._requests.get(msg.parent_header.msg_id);
    if (request && msg.channel === "shell") {
      this._requests.delete(msg.parent_header.msg_id);
      request.resolve(msg);
    }
  }

  /** @param {Message} msg @private */
  _kernel_opened(msg) {
    const { comm_id, target_name } = msg.content;
    const callback = this._targets.callbacks.get(target_name);
    const adopted = this._comms.get(comm_id); // known already (_adopt): its open came late
    if (!adopted && !this._targets.wants(target_name)) {
      // unregistered while the open was on its way: refuse it, as Jupyter frontends do
      this._send(this._message("shell", "comm_close", { comm_id, data: {} }));
      return;
    }
    const comm = adopted || this._adopt(comm_id, target_name);
    if (callback) guarded(this.log, `target ${target_name}`, () => callback(comm, msg));
    this._targets.notify(target_name, msg, this.log);
  }

  /** @param {Message} msg @private */
  _bridge_error(msg) {
    const { ename, evalue, msg_type, comm_id } = msg.content;
    const request = this._requests.get(msg.parent_header.msg_id);
    if (request) {
      this._requests.delete(msg.parent_header.msg_id);
      request.reject(new Error(`pycomm: ${ename}: ${evalue}`));
      return;
    }
    if (msg_type === WATCH_STATUS_REQUEST) return this._routes.refused(`kernel ${this.kernel_id}: ${ename}: ${evalue}`);
    this._routes.settle(msg.parent_header.msg_id, evalue); // a refused message has no status to wait for
    if (ename === "UnknownComm" && this._kernel_closed.has(comm_id)) {
      // sent as the kernel closed the comm (the close was on its way): not the caller's mistake
      this.log.warn(`pycomm: a ${msg_type} crossed the kernel's close of comm ${comm_id}: dropped`);
      return;
    }
    this.log.error(`pycomm: the bridge refused ${msg_type || "a message"}: ${ename}: ${evalue}`);
    const comm = this._comms.get(comm_id);
    if (comm && msg_type === "comm_open") {
      comm._handle_close(this._local_message("comm_close", { comm_id, data: {} }, { reason: evalue }));
    }
  }

  // --- outgoing -------------------------------------------------------------------

  /**
   * @param {string} target_name
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @param {string} [comm_id] set by the bootstrap, which hands out ids before loading us
   * @internal
   */
  _open_comm(target_name, data, metadata, buffers, comm_id = uuid()) {
    if (typeof target_name !== "string" || !target_name) {
      throw new TypeError("pycomm: target_name must be a non-empty string");
    }
    const comm = new Comm(this._comm_host, comm_id, target_name);
    this._comms.set(comm_id, comm);
    const content = { comm_id, target_name, data: data === undefined ? {} : data };
    this._send_message("comm_open", content, metadata, buffers);
    comm._check_open(this.options.open_check ?? OPEN_CHECK, this.options);
    return comm;
  }

  /** @param {Comm} comm @private */
  _forget(comm) {
    this._comms.delete(comm.comm_id);
    if (this._shared.get(comm.target_name) === comm) this._shared.delete(comm.target_name);
  }

  /**
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @param {StatusCallback} [on_status] gets the kernel's status messages of this one
   * @returns {string} the msg_id
   * @private
   */
  _send_message(msg_type, content, metadata, buffers, on_status) {
    const msg = this._message("shell", msg_type, content, metadata, buffers);
    const msg_id = msg.header.msg_id;
    if (on_status) this._routes.hook(msg_id, on_status);
    this._send(msg);
    return msg_id;
  }

  /** @param {OutgoingMessage} msg @private */
  _send(msg) {
    const frame = encode(msg, (size) => this.link.reuse(size));
    if (!this.link.send(frame, msg.content.comm_id)) {
      this.log.warn(`pycomm: kernel ${this.kernel_id} is disconnected; ${msg.header.msg_type} dropped`);
    }
  }

  /** Tell the server about targets registered or dropped since it last heard. @private */
  _sync_targets() {
    if (!this.link.ready) return; // the next session start does it
    for (const [msg_type, target_name] of this._targets.changes()) {
      this._send(this._message(BRIDGE_CHANNEL, msg_type, { target_name }));
    }
  }

  /**
   * @param {string} channel
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @private
   */
  _message(channel, msg_type, content, metadata, buffers) {
    return message(this.session_id, channel, msg_type, content, metadata, buffers);
  }

  /**
   * A message for callbacks about something that happened here, not in the kernel.
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @param {Record<string, any>} [metadata]
   * @param {string} [msg_id]
   * @returns {Message}
   * @private
   */
  _local_message(msg_type, content, metadata, msg_id) {
    const msg = this._message("iopub", msg_type, content, metadata);
    if (msg_id) msg.header.msg_id = msg_id;
    return { ...msg, buffers: [] };
  }
}
