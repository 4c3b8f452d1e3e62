/**
 * The widget modules that are not in the bundle: asked of the server (docs/widget-modules.md,
 * "Finding a module"), then loaded from the files it serves, as an AMD module (amd.js) or a
 * federated JupyterLab extension (federation.js). The code loaded is the page's: one loader per
 * page, one copy of each module in it.
 * @module loader
 */

import { AmdModules } from "./amd.js";
import { Federation } from "./federation.js";
import { shareScope } from "./share_scope.js";

/**
 * @typedef {import("./share_scope.js").Package} Package
 * @typedef {import("./federation.js").Token} Token
 * @typedef {import("./federation.js").Needs} Needs
 * @typedef {{kernel_id: string, server_url(path: string): string, server_get(path: string): Promise<Response>}} Server
 *   what the loader uses of a WidgetHost
 * @typedef {{module: string, version: string, format: "amd" | "federated", source: string, base: string,
 *            entry: string, extension?: string}} Found  the server's answer when it found the module
 * @typedef {{module: string, version: string, message: string,
 *            looked: {source: string, where: string, found: string | null, why: string}[]}} NotFound
 *   its answer (404) when it did not
 * @typedef {{win: any, builtins: Map<string, any>, shared: Package[], registryToken: Token}} LoaderOptions
 */

/** Where each `source` of the server's answer is, in words for the user. */
const SOURCES = /** @type {Record<string, string>} */ ({
  kernel: "the kernel's environment",
  server: "the server's environment",
  cdn: "the CDN",
});

/** Why widgets of a module are not shown; `message` is for the user, as it is. */
export class ModuleError extends Error {
  /** @param {string} message @param {{cause?: unknown, notFound?: NotFound}} [options] */
  constructor(message, options = {}) {
    super(message, { cause: options.cause });
    this.name = "ModuleError";
    /** @type {NotFound | undefined} the server's answer, when it did not find the module */
    this.notFound = options.notFound;
  }
}

/**
 * What a view says when its module's class could not be loaded: a ModuleError's message as it
 * is (the server's, for a module it did not find), else the error.
 * @param {unknown} error
 */
export function notShown(error) {
  return error instanceof ModuleError ? error.message : `Widget not shown: ${error}`;
}

/**
 * The path (under the base URL) of the server's answer for `module` at `range`.
 * @param {string} kernel_id @param {string} module @param {string} range
 */
export function findPath(kernel_id, module, range) {
  const kernel = encodeURIComponent(kernel_id);
  return `comm-bridge/widgets/kernels/${kernel}/modules/${encodeURIComponent(module)}?version=${encodeURIComponent(range)}`;
}

/** @param {unknown} e */
const text = (e) => (e instanceof Error ? e.message : String(e));

/**
 * `map`'s promise for `key`, made by `make` the first time.
 * @template T
 * @param {Map<string, Promise<T>>} map @param {string} key @param {() => Promise<T>} make
 * @returns {Promise<T>}
 */
function once(map, key, make) {
  let promise = map.get(key);
  if (!promise) map.set(key, (promise = make()));
  return promise;
}

export class ModuleLoader {
  /** @param {LoaderOptions} options */
  constructor({ win, builtins, shared, registryToken }) {
    this.amd = new AmdModules(win, builtins);
    this.federation = new Federation(win, shareScope(shared), registryToken);
    /** @type {Map<string, Promise<Found>>} kernel, module, range -> the server's answer */
    this.answers = new Map();
    /** @type {Map<string, Promise<any>>} kernel, module, range -> the module's exports */
    this.modules = new Map();
  }

  /**
   * Class `className` of widget module `module` at `range`.
   * @param {Server} server
   * @param {string} className
   * @param {string} module
   * @param {string} range the model's `_model_module_version` or `_view_module_version`
   * @returns {Promise<any>}
   */
  async loadClass(server, className, module, range) {
    const exports = await this.load(server, module, range);
    const found = exports?.[className];
    if (!found) throw new ModuleError(`${module} widget not shown: ${module} has no ${className}.`);
    return found;
  }

  /**
   * The exports of `module` at `range` (an empty range: any version), asked of the server once
   * per kernel, module and range; a failure is kept too (every widget of it says the same).
   * @param {Server} server
   * @param {string} module
   * @param {string} range
   * @returns {Promise<any>}
   */
  load(server, module, range) {
    const key = JSON.stringify([server.kernel_id, module, range || "*"]);
    return once(this.modules, key, () => {
      const exports = this._answer(server, module, range || "*").then((found) => this._run(server, found, module));
      exports.catch((e) => console.warn(`pycomm: widget module ${module} ${range}:`, e.notFound ?? e));
      return exports;
    });
  }

  /**
   * The server's answer for `module` at `range`, asked once per kernel, module and range.
   * @param {Server} server @param {string} module @param {string} range
   * @returns {Promise<Found>}
   * @private
   */
  _answer(server, module, range) {
    return once(this.answers, JSON.stringify([server.kernel_id, module, range]), () => this._find(server, module, range));
  }

  /**
   * The server's answer for `module` at `range`.
   * @param {Server} server @param {string} module @param {string} range
   * @returns {Promise<Found>}
   * @private
   */
  async _find(server, module, range) {
    /** @type {Response} */ let response;
    try {
      response = await server.server_get(findPath(server.kernel_id, module, range));
    } catch (e) {
      throw new ModuleError(`${module} widget not shown: the server could not be asked for ${module} ${range} (${text(e)}).`, { cause: e });
    }
    const body = await response.json().catch(() => null);
    if (response.ok && (body?.format === "amd" || body?.format === "federated")) return body;
    if (response.status === 404 && typeof body?.message === "string") throw new ModuleError(body.message, { notFound: body });
    const what = response.ok ? "an answer it does not know" : `HTTP ${response.status}`;
    throw new ModuleError(`${module} widget not shown: asked for ${module} ${range}, the server gave ${what}.`);
  }

  /**
   * Load the module the server found.
   * @param {Server} server @param {Found} found @param {string} module
   * @private
   */
  async _run(server, found, module) {
    const path = found.base + found.entry;
    try {
      const url = server.server_url(path);
      if (found.format === "federated") {
        return await this.federation.load(module, url, found.extension ?? "./extension", this._needs(server, module, found));
      }
      const fileText = async () => {
        const response = await server.server_get(path);
        if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
        return response.text();
      };
      return await this.amd.load(module, url, fileText, (name) => this._dependency(server, module, name));
    } catch (e) {
      if (e instanceof ModuleError) throw e; // a dependency's, said already
      const where = SOURCES[found.source] ?? found.source;
      const version = found.version || "(version unknown)";
      throw new ModuleError(`${module} widget not shown: ${module} ${version}, from ${where}, could not be loaded: ${text(e)}`, { cause: e });
    }
  }

  /**
   * What the federated extension the server found for `module` needs in the share scope.
   * @param {Server} server @param {string} module @param {Found} found
   * @returns {Needs}
   * @private
   */
  _needs(server, module, found) {
    return { names: () => this._singletons(server, found), provide: (name) => this._provide(server, module, name) };
  }

  /**
   * The packages a federated extension takes from the share scope only: those of its
   * `package.json`'s `jupyterlab.sharedPackages` that are not `bundled` (none when it has none).
   * @param {Server} server @param {Found} found
   * @returns {Promise<string[]>}
   * @private
   */
  async _singletons(server, found) {
    const response = await server.server_get(`${found.base}package.json`).catch(() => null);
    const json = response?.ok ? await response.json().catch(() => null) : null;
    const shared = Object.entries(json?.jupyterlab?.sharedPackages ?? {});
    return shared.filter(([, how]) => how?.bundled === false).map(([name]) => name);
  }

  /**
   * Put package `name`, which a federated `module` needs, in the share scope: found as a widget
   * module (any version), a federated one by its container, an AMD one by its exports.
   * @param {Server} server @param {string} module @param {string} name
   * @private
   */
  async _provide(server, module, name) {
    const found = await this._answer(server, name, "*").catch((e) => {
      throw new ModuleError(`${module} widget not shown: it needs ${name}. ${text(e)}`, { cause: e });
    });
    if (found.format === "federated") {
      await this.federation.prepare(name, server.server_url(found.base + found.entry), this._needs(server, module, found));
    } else {
      this.federation.share(name, found.version, await this._dependency(server, module, name));
    }
  }

  /**
   * Module `name`, which `module` depends on (any version).
   * @param {Server} server @param {string} module @param {string} name
   * @private
   */
  async _dependency(server, module, name) {
    try {
      return await this.load(server, name, "*");
    } catch (e) {
      const notFound = e instanceof ModuleError ? e.notFound : undefined;
      throw new ModuleError(`${module} widget not shown: it needs ${name}. ${text(e)}`, { cause: e, notFound });
    }
  }
}
