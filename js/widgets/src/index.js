/**
 * The widget bundle of jupyter_comm_bridge (`dist/widgets.js`, served as `widgets.js` beside
 * pycomm's modules). pycomm imports it the first time a widget output appears and calls
 * `create_manager` once per kernel connection, with its WidgetHost.
 * @module widgets
 */

import { BridgeWidgetManager } from "./manager.js";
import { SHARED } from "./modules.js";
import { injectStyles } from "./styles.js";

export { ANYWIDGET_VERSION } from "./anywidget.js";
export { BridgeWidgetManager } from "./manager.js";
export { loadClass } from "./modules.js";

/** The packages that federated widget libraries share with this bundle: name -> version. */
export const SHARED_PACKAGES = Object.freeze(Object.fromEntries(SHARED.map(([name, version]) => [name, version])));

/**
 * The widget manager of a connection; the widgets' CSS goes into the page with the first one.
 * @param {import("../../widget_host.js").WidgetHost} host the connection's (`widget_host()`)
 */
export function create_manager(host) {
  injectStyles(document);
  return new BridgeWidgetManager(host, document);
}
