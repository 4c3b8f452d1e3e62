/**
 * The widget bundle of jupyter_comm_bridge (`dist/widgets.js`, served as `widgets.js` beside
 * pycomm's modules). pycomm imports it the first time a widget output appears and calls
 * `create_manager` once per kernel connection.
 * @module widgets
 */

import { BridgeWidgetManager } from "./manager.js";
import { injectStyles } from "./styles.js";

export { ANYWIDGET_VERSION } from "./anywidget.js";
export { BridgeWidgetManager } from "./manager.js";
export { loadClass } from "./modules.js";

/**
 * The widget manager of `connection`; the widgets' CSS goes into the page with the first one.
 * @param {import("../../connection.js").KernelConnection} connection
 */
export function create_manager(connection) {
  injectStyles(document);
  return new BridgeWidgetManager(connection, document);
}
