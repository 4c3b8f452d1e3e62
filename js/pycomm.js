// @ts-check
/**
 * pycomm: the browser client of jupyter_comm_bridge (entry module).
 *
 * One KernelConnection per kernel per page, each with one websocket to
 * `{base_url}comm-bridge/kernels/{kernel_id}/channels` (v1 kernel websocket
 * protocol). The bootstrap that the server injects into outputs defines
 * `window.pycomm` at once, then imports this module (from the same versioned
 * directory as the others, which it imports relatively) and calls `install`.
 *
 * @module pycomm
 */

import { KernelConnection } from "./connection.js";
import { guarded } from "./util.js";
// Every module the client runs, named here so that the browser fetches them all in the first
// wave: each level of imports found only once its importer is parsed costs a round trip and a
// parse on the page's busy main thread (the first widget paid ~100 ms for four levels).
import "./classic.js";
import "./classic_comm.js";
import "./incoming.js";
import "./parent_routes.js";
import "./targets.js";
import "./widget_host.js";

export * from "./protocol.js";
export { Comm } from "./comm.js";
export { OPEN_CHECK } from "./comm_table.js";
export { KernelConnection } from "./connection.js";
export { BACKOFF, BridgeLink, CONNECT_TIMEOUT } from "./link.js";
export { bridgeUrl, kernelApiUrl } from "./urls.js";
export { uuid } from "./util.js";
export { decode, encode, message, PROTOCOL_VERSION } from "./wire.js";

/**
 * @typedef {import("./connection.js").ConnectionOptions} ConnectionOptions
 * @typedef {import("./boot.js").Boot} Boot
 * @typedef {import("./boot.js").QueueEntry} QueueEntry
 * @typedef {import("./connection.js").WidgetManager} WidgetManager
 * @typedef {import("./widget_host.js").WidgetHost} WidgetHost
 */

/**
 * The widget manager of `connection`, from the widget bundle that the server serves beside
 * this module (`widgets.js`: js/widgets/), imported the first time a widget is displayed; the
 * manager gets the connection's WidgetHost.
 * @param {KernelConnection} connection
 * @returns {Promise<WidgetManager>}
 */
export async function loadWidgets(connection) {
  const url = new URL("./widgets.js", import.meta.url).href;
  /** @type {{create_manager(host: WidgetHost): WidgetManager}} */ let module;
  try {
    module = await import(url);
  } catch (e) {
    throw new Error(`pycomm: could not load the widget code from ${url}: ${e}`);
  }
  return module.create_manager(connection.widget_host());
}

/** Every KernelConnection of the page, created (and connected) on first use. */
export class Root {
  /** @param {ConnectionOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {Map<string, KernelConnection>} */ this.connections = new Map();
  }

  /** @param {string} kernel_id */
  kernel(kernel_id) {
    let connection = this.connections.get(kernel_id);
    if (!connection) {
      connection = new KernelConnection(kernel_id, this.options);
      this.connections.set(kernel_id, connection);
      connection.connect();
    }
    return connection;
  }
}

/**
 * Called by the bootstrap once this module has loaded: create the Root and
 * replay, in order, the calls that outputs made before.
 * @param {{WebSocket: typeof WebSocket, fetch?: typeof fetch, location: {href: string},
 *          setTimeout?: typeof setTimeout, clearTimeout?: typeof clearTimeout}} win
 * @param {Boot} boot
 */
export function install(win, boot) {
  const root = new Root({
    config: boot.config,
    WebSocket: win.WebSocket,
    fetch: win.fetch ? win.fetch.bind(win) : undefined,
    location: win.location,
    setTimeout: win.setTimeout ? win.setTimeout.bind(win) : undefined,
    clearTimeout: win.clearTimeout ? win.clearTimeout.bind(win) : undefined,
    widgets: loadWidgets,
  });
  boot.impl = root;
  for (const call of boot.queue.splice(0)) {
    guarded(console, `queued ${call.method}`, () => replay(root, call));
  }
  return root;
}

/** @param {Root} root @param {QueueEntry} call */
function replay(root, call) {
  const { kernel_id, method, args, comm } = call;
  if (kernel_id === undefined) {
    /** @type {any} */ (comm).real[method](...args); // a call on a comm handed out before loading
  } else if (comm) {
    const [target_name, data, more, buffers] = args;
    const options = method === "open" ? more || {} : { metadata: more, buffers };
    const connection = root.kernel(kernel_id);
    comm.real = connection.open_comm(target_name, data, options.metadata, options.buffers, comm.comm_id);
    comm.attach?.(comm.real);
  } else if (method === "comm_info" || method === "classic") {
    /** @type {any} */ (root.kernel(kernel_id))[method](...args).then(call.resolve, call.reject);
  } else {
    /** @type {any} */ (root.kernel(kernel_id))[method](...args);
  }
}
