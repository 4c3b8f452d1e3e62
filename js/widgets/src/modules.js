/**
 * The widget modules for the manager's `loadClass`: those in this bundle, ipywidgets 8's own
 * (@jupyter-widgets/base, controls, output) and anywidget's; any other through the page's
 * ModuleLoader (loader.js), from the files the server finds for the kernel. A module that cannot
 * be loaded gives its widgets a model that keeps their state and a view that says why.
 * @module modules
 */

import * as base from "@jupyter-widgets/base";
import * as controls from "@jupyter-widgets/controls";
import { LUMINO, VERSIONS } from "pycomm-widgets:packages";

import * as anywidget from "./anywidget.js";
import { ModuleError, ModuleLoader } from "./libraries/loader.js";
import * as output from "./output.js";

/** @typedef {import("./libraries/loader.js").Server} Server */

/** module name -> [the module, the major version of `_model_module_version` it serves] */
const BUNDLED = new Map([
  ["@jupyter-widgets/base", [base, 2]],
  ["@jupyter-widgets/controls", [controls, 2]],
  ["@jupyter-widgets/output", [output, 1]],
  ["anywidget", [anywidget, 0]],
]);

/** What other modules may depend on: ipywidgets' modules, as an AMD library names them. */
const BUILTINS = new Map(["@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output"]
  .map((name) => [name, /** @type {any} */ (BUNDLED.get(name))[0]]));

/**
 * The packages of this bundle that federated libraries share, with their versions here (from
 * node_modules, at build time: build.mjs): ipywidgets' modules and every @lumino package.
 * @type {import("./libraries/share_scope.js").Package[]}
 */
export const SHARED = [...[...BUILTINS].map(([name, module]) => [name, VERSIONS[name], module]), ...LUMINO];

/** @type {ModuleLoader | null} the page's: the code it loads is the page's */
let pageLoader = null;

/** The page's ModuleLoader, made on first use. */
function loader() {
  pageLoader ??= new ModuleLoader({ win: window, builtins: BUILTINS, shared: SHARED, registryToken: base.IJupyterWidgetRegistry });
  return pageLoader;
}

/** @type {Set<string>} anywidget versions already warned about */
const warned = new Set();

/** @param {string} version e.g. "2.0.0", "^2.0.0", "~0.11.*" @returns {[number, number]} */
function majorMinor(version) {
  const match = /^\D*(\d+)(?:\.(\d+))?/.exec(version || "");
  return match ? [Number(match[1]), Number(match[2] || 0)] : [NaN, NaN];
}

/**
 * Why widgets of bundled module `moduleName` at `moduleVersion` cannot be shown here; "" when
 * they can, or when the module is not bundled (the loader tells).
 * @param {string} moduleName
 * @param {string} moduleVersion
 */
export function unsupported(moduleName, moduleVersion) {
  const bundled = BUNDLED.get(moduleName);
  if (!bundled) return "";
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
 * The class `className` of widget module `moduleName` at `moduleVersion`; a module not in the
 * bundle is found by the server of `server` for its kernel. Rejects with a ModuleError.
 * @param {string} className
 * @param {string} moduleName
 * @param {string} moduleVersion
 * @param {Server} [server] the manager's WidgetHost
 * @returns {Promise<any>}
 */
export async function loadClass(className, moduleName, moduleVersion, server) {
  const bundled = BUNDLED.get(moduleName);
  if (!bundled) {
    if (!server) throw new ModuleError(`${moduleName} widget not shown: ${moduleName} is not in the bundle.`);
    return loader().loadClass(server, className, moduleName, moduleVersion);
  }
  const why = unsupported(moduleName, moduleVersion);
  if (why) throw new ModuleError(why);
  const module = /** @type {any} */ (bundled[0]);
  if (!module[className]) throw new ModuleError(`Widget not shown: no class ${className} in ${moduleName} ${moduleVersion}.`);
  return module[className];
}

/** The model of a widget whose module could not be loaded: it keeps the kernel's state, nothing more. */
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
