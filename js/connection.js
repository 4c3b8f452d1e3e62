// @ts-check
/**
 * KernelConnection: the pycomm API bound to one kernel, over one BridgeLink. It ties the link
 * to its parts: the comms (CommTable), the targets, the routes by parent (ParentRoutes), and
 * what delivers the bridge's messages to them (Incoming). The widget manager gets a WidgetHost
 * of it, classic code a `Jupyter` object (classic.js).
 * @module connection
 */

import { classicJupyter } from "./classic.js";
import { CommTable } from "./comm_table.js";
import { Incoming } from "./incoming.js";
import { BridgeLink, CONNECT_TIMEOUT } from "./link.js";
import { ParentRoutes } from "./parent_routes.js";
import { BRIDGE_CHANNEL, WATCH_STATUS_REQUEST } from "./protocol.js";
import { Targets } from "./targets.js";
import { kernelExists, serverGet, serverUrl } from "./urls.js";
import { guarded } from "./util.js";
import { WidgetHost } from "./widget_host.js";
import { encode, message } from "./wire.js";

/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./wire.js").OutgoingMessage} OutgoingMessage
 * @typedef {import("./wire.js").BufferLike} BufferLike
 * @typedef {import("./link.js").Status} Status
 * @typedef {import("./link.js").LinkEvents} LinkEvents
 * @typedef {import("./comm.js").CommHost} CommHost
 * @typedef {import("./incoming.js").Request} Request
 * @typedef {import("./incoming.js").Recipients} Recipients
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
    /** @private */ this._comms = new CommTable(this._comm_host(), options);
    /** @private */ this._targets = new Targets();
    /** @type {Map<string, Request>} */ this._requests = new Map();
    /** @type {Set<(status: Status) => void>} */ this._status_callbacks = new Set();
    /** @private */ this._routes = new ParentRoutes(this.log, (t, c, m) => this._local_message(t, c, m));
    /** @private */ this._incoming = new Incoming(this._recipients());
    /** @type {Promise<WidgetManager> | null} @private */ this._widgets = null;
    /** @type {WidgetHost | null} @private */ this._widget_host = null;
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
    return this._comms.open(target_name, data, metadata, buffers);
  }

  /**
   * Open a comm from the page (options object).
   * @param {string} target_name
   * @param {any} [data]
   * @param {SendOptions} [options]
   */
  open(target_name, data, options = {}) {
    return this._comms.open(target_name, data, options.metadata, options.buffers);
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
    return this._comms.shared(target_name).send(data, options.metadata, options.buffers);
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
   * (classic.js). @param {any} element the output's element, or null
   * @returns {Promise<Record<string, any>>}
   */
  async classic(element) {
    return classicJupyter(this, element);
  }

  // --- for the client's own modules (not on window.pycomm) ------------------------

  /** Open the bridge connection (the Root calls this once). */
  connect() {
    this.link.connect();
  }

  /**
   * Open a comm from the page with a given `comm_id`: the bootstrap hands out comms before the
   * client loads, classic code and the widget manager choose theirs.
   * @param {string} target_name
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @param {string} [comm_id] a new one without
   */
  open_comm(target_name, data, metadata, buffers, comm_id) {
    return this._comms.open(target_name, data, metadata, buffers, comm_id);
  }

  /** What the widget manager (js/widgets/) uses of this connection; the same each time. */
  widget_host() {
    this._widget_host ??= new WidgetHost(this, this._comms, this._routes, () => this._sync_status_watch(), {
      url: (path) => serverUrl(this.options.config, path, this.options.location),
      get: (path) => serverGet(this.options.fetch, this.options.config, path, this.options.location),
    });
    return this._widget_host;
  }

  // --- what the link reports ----------------------------------------------------

  /** @returns {LinkEvents} @private */
  _link_events() {
    return {
      on_status: (status) => this._set_status(status),
      on_attached: (resumed) => this._attached(resumed),
      on_client_lost: (why, comm_ids) => this._client_lost(why, comm_ids),
      on_given_up: (why) => this._given_up(why),
      on_message: (msg) => this._incoming.deliver(msg),
      open_comm_ids: () => this._comms.ids(),
      kernel_exists: () => {
        const { fetch: get, config, location } = this.options;
        return kernelExists(get, config, this.kernel_id, location, CONNECT_TIMEOUT);
      },
    };
  }

  /** What the bridge's messages are delivered to (Incoming). @returns {Recipients} @private */
  _recipients() {
    return {
      kernel_id: this.kernel_id,
      log: this.log,
      comms: this._comms,
      targets: this._targets,
      routes: this._routes,
      requests: this._requests,
      refuse: (comm_id) => this._send(this._message("shell", "comm_close", { comm_id, data: {} })),
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

  /** Attached to our client on the server (a new one, or resumed). @param {boolean} resumed @private */
  _attached(resumed) {
    if (!resumed) {
      this._targets.new_client();
      this._routes.new_client();
    }
    this._sync_targets();
    this._sync_status_watch();
    this._set_status("connected");
    this._resolve_ready?.();
  }

  /**
   * The server no longer has this page's client: its comms are gone.
   * @param {string} why
   * @param {Set<string>} [only] just these comms (others were opened since, not sent yet)
   * @private
   */
  _client_lost(why, only) {
    this._comms.close_all_here(why, only);
    this._routes.settle_all(why);
    const error = new Error(`pycomm: ${why}`);
    for (const request of this._requests.values()) request.reject(error);
    this._requests.clear();
  }

  /** @param {string} why @private */
  _given_up(why) {
    this._client_lost(why);
    this._set_status("disconnected");
    this.log.error(`pycomm: ${why}; not reconnecting.`);
    this._reject_ready?.(new Error(`pycomm: ${why}`));
  }

  // --- outgoing -------------------------------------------------------------------

  /** What this connection's comms send and log with. @returns {CommHost} @private */
  _comm_host() {
    return {
      send: (msg_type, content, metadata, buffers, on_status) =>
        this._send_message(msg_type, content, metadata, buffers, on_status),
      local: (msg_type, content, metadata, msg_id) => this._local_message(msg_type, content, metadata, msg_id),
      forget: (comm) => this._comms.forget(comm),
      comm_info: (target_name) => this.comm_info(target_name),
      log: this.log,
    };
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
    if (!this.link.ready) return; // done once attached
    for (const [msg_type, target_name] of this._targets.changes()) {
      this._send(this._message(BRIDGE_CHANNEL, msg_type, { target_name }));
    }
  }

  /** Ask for the kernel status of our messages if it is wanted and not asked yet. @private */
  _sync_status_watch() {
    if (this.link.ready && this._routes.due()) this._send(this._message(BRIDGE_CHANNEL, WATCH_STATUS_REQUEST, {}));
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
