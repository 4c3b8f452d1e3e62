// @ts-check
/**
 * WidgetHost: what the widget manager (js/widgets/) uses of a KernelConnection, and nothing
 * more. The connection hands out one (`widget_host()`), made from its own parts.
 * @module widget_host
 */

/**
 * @typedef {import("./connection.js").KernelConnection} KernelConnection
 * @typedef {import("./comm_table.js").CommTable} CommTable
 * @typedef {import("./parent_routes.js").ParentRoutes} ParentRoutes
 * @typedef {import("./comm.js").Comm} Comm
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./wire.js").BufferLike} BufferLike
 * @typedef {import("./targets.js").TargetCallback} TargetCallback
 * @typedef {{url(path: string): string, get(path: string): Promise<Response>}} Server
 *   the page's server as the connection reaches it: its base URL, the page's token and cookie
 */

export class WidgetHost {
  /**
   * @param {KernelConnection} connection its public API
   * @param {CommTable} comms the connection's comms
   * @param {ParentRoutes} routes the connection's routes of iopub messages by parent
   * @param {() => void} send_watch sends the status watch request if it is due and we are attached
   * @param {Server} server
   */
  constructor(connection, comms, routes, send_watch, server) {
    /** @type {Promise<void>} Resolves when the bridge connection is up. */
    this.ready = connection.ready;
    /** @type {string} The kernel's id (the server's widget module finder is per kernel). */
    this.kernel_id = connection.kernel_id;
    /** @private */ this._connection = connection;
    /** @private */ this._comms = comms;
    /** @private */ this._routes = routes;
    /** @private */ this._send_watch = send_watch;
    /** @private */ this._server = server;
  }

  /**
   * The absolute URL of `path` under the page's base URL (a widget library's files: a
   * `<script src>`, the URL an AMD module finds its assets by). Same origin only.
   * @param {string} path relative to the base URL, e.g. `comm-bridge/widgets/files/...`
   * @returns {string}
   */
  server_url(path) {
    return this._server.url(path);
  }

  /**
   * GET `path` under the page's base URL, authenticated as the page's other requests are (its
   * token, its cookie). The response whatever its status: the caller reads it.
   * @param {string} path relative to the base URL
   * @returns {Promise<Response>}
   */
  server_get(path) {
    return this._server.get(path);
  }

  /**
   * The kernel's open comms that this connection may see, as `{comm_id: {target_name}}`.
   * @param {string} [target_name]
   * @returns {Promise<Record<string, {target_name: string}>>}
   */
  comm_info(target_name) {
    return this._connection.comm_info(target_name);
  }

  /** Handle comms the kernel opens for `target_name`.
   * @param {string} target_name @param {TargetCallback} callback */
  register_target(target_name, callback) {
    this._connection.register_target(target_name, callback);
  }

  /**
   * Ask the server for the kernel's iopub `status` of our messages (WidgetModel throttles its
   * updates on the kernel's idle), from now on: each new client on the server is asked too.
   * A ClassicComm's `callbacks.iopub.status` then gets its message's busy and idle.
   */
  watch_status() {
    this._routes.want();
    this._send_watch();
  }

  /** A Comm for a comm the kernel has open (sends no comm_open), or the one known.
   * @param {string} comm_id @param {string} target_name @returns {Comm} */
  adopt(comm_id, target_name) {
    return this._comms.adopt(comm_id, target_name);
  }

  /**
   * Open a comm from the page with the given `comm_id` (a model's id).
   * @param {string} target_name
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @param {string} [comm_id] a new one without
   * @returns {Comm}
   */
  open_comm(target_name, data, metadata, buffers, comm_id) {
    return this._connection.open_comm(target_name, data, metadata, buffers, comm_id);
  }

  /** Send the kernel's iopub messages without comm_id whose parent is `msg_id` to `handler`
   * (an Output widget's capture; the last handler of a msg_id gets them).
   * @param {string} msg_id @param {(msg: Message) => void} handler */
  capture(msg_id, handler) {
    this._routes.capture(msg_id, handler);
  }

  /** Stop `capture`. @param {string} msg_id @param {(msg: Message) => void} [handler] (all of them without) */
  release(msg_id, handler) {
    this._routes.release(msg_id, handler);
  }
}
