/**
 * The widget modules in this bundle, for the manager's `loadClass`: ipywidgets 8's own
 * (@jupyter-widgets/base, controls, output) and anywidget's. Anything else is a library that
 * ships its own frontend code in its JupyterLab extension, which this page does not have: its
 * widgets get a model that keeps their state and a view that says so.
 * @module modules
 */

import * as base from "@jupyter-widgets/base";
import * as controls from "@jupyter-widgets/controls";

import * as anywidget from "./anywidget.js";
import * as output from "./output.js";

/** module name -> [the module, the major version of `_model_module_version` it serves] */
const BUNDLED = new Map([
  ["@jupyter-widgets/base", [base, 2]],
  ["@jupyter-widgets/controls", [controls, 2]],
  ["@jupyter-widgets/output", [output, 1]],
  ["anywidget", [anywidget, 0]],
]);

/** @type {Set<string>} anywidget versions already warned about */
const warned = new Set();

/** @param {string} version e.g. "2.0.0", "^2.0.0", "~0.11.*" @returns {[number, number]} */
function majorMinor(version) {
  const match = /^\D*(\d+)(?:\.(\d+))?/.exec(version || "");
  return match ? [Number(match[1]), Number(match[2] || 0)] : [NaN, NaN];
}

/**
 * Why widgets of `moduleName` at `moduleVersion` cannot be shown here; "" when they can.
 * @param {string} moduleName
 * @param {string} moduleVersion
 */
export function unsupported(moduleName, moduleVersion) {
  const bundled = BUNDLED.get(moduleName);
  if (!bundled) {
    return `${moduleName} widget not shown: ${moduleName} ships its own frontend code, in a JupyterLab ` +
      "extension that this server does not have. Third-party widget libraries are not supported without " +
      "their extension; ipywidgets and anywidget widgets are.";
  }
  const [got, minor] = majorMinor(moduleVersion);
  if (moduleName === "anywidget") {
    if ((got !== 0 || minor !== 11) && !warned.has(moduleVersion)) {
      warned.add(moduleVersion);
      console.warn(`pycomm: the kernel has anywidget ${moduleVersion}; this page has ${anywidget.ANYWIDGET_VERSION}`);
    }
    return "";
  }
  if (got === bundled[1]) return "";
  return `Widget not shown: ${moduleName} ${moduleVersion} is not supported here, only ipywidgets 8's ` +
    `(${moduleName} ${bundled[1]}.x): upgrade ipywidgets in the kernel to version 8.`;
}

/**
 * The class `className` of widget module `moduleName` at `moduleVersion`.
 * @param {string} className
 * @param {string} moduleName
 * @param {string} moduleVersion
 * @returns {Promise<any>}
 */
export async function loadClass(className, moduleName, moduleVersion) {
  const why = unsupported(moduleName, moduleVersion);
  if (why) throw new Error(why);
  const module = /** @type {any} */ (BUNDLED.get(moduleName))[0];
  if (!module[className]) throw new Error(`no class ${className} in ${moduleName} ${moduleVersion}`);
  return module[className];
}

/** The model of a widget whose library is not here: it keeps the kernel's state, nothing more. */
export class UnsupportedModel extends base.DOMWidgetModel {}

/**
 * A view that says why the widget is not shown.
 * @param {string} why
 */
export function unsupportedView(why) {
  return class UnsupportedView extends base.DOMWidgetView {
    render() {
      this.el.classList.add("jupyter-widgets", "pycomm-widget-message");
      this.el.textContent = why;
    }
  };
}
