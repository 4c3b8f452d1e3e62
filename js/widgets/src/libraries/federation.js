/**
 * Federated JupyterLab extensions (a widget library's labextension: a webpack module federation
 * container in `remoteEntry.<hash>.js`) loaded into the page: the container initialized with the
 * page's share scope, its plugins that register widgets activated with a widget registry of our
 * own, and what they registered handed to the manager.
 * @module federation
 */

import { FROM } from "./share_scope.js";

/**
 * @typedef {import("./share_scope.js").ShareScope} ShareScope
 * @typedef {{init(scope: ShareScope): unknown, get(module: string): Promise<() => any>}} Container
 * @typedef {{name?: string}} Token  a Lumino Token
 * @typedef {{id?: string, requires?: Token[], optional?: Token[], activate: Function}} Plugin
 * @typedef {{name: string, version: string, exports: any}} WidgetData  what `registerWidget` gets
 * @typedef {{version: string, exports: any, value?: Promise<any>}} Registered
 * @typedef {{names(): Promise<string[]>, provide(name: string): Promise<void>}} Needs  the
 *   packages an extension consumes from the scope with no copy of its own (its `sharedPackages`
 *   that are not `bundled`), and how one the scope lacks is put there (another widget library)
 */

/** ms a container's script may take to load. */
export const SCRIPT_WAIT = 30000;

/** What plugins get as their application: there is no JupyterLab here. */
const APP = Object.freeze({ started: Promise.resolve(), restored: Promise.resolve() });

/**
 * Load the script at `url` (a `<script src>`: the container's chunks are then found relative
 * to it), within `ms`.
 * @param {Document} doc
 * @param {string} url
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function loadScript(doc, url, ms) {
  return new Promise((resolve, reject) => {
    const script = doc.createElement("script");
    const timer = setTimeout(() => reject(new Error(`${url} did not load within ${ms / 1000} s`)), ms);
    script.onload = () => (clearTimeout(timer), resolve());
    script.onerror = () => (clearTimeout(timer), reject(new Error(`${url} could not be loaded`)));
    script.async = true;
    script.src = url;
    doc.head.append(script);
  });
}

/**
 * The plugins a JupyterLab extension module exports (by default: one, or an array).
 * @param {any} exported
 * @returns {Plugin[]}
 */
export function pluginsOf(exported) {
  const main = exported && typeof exported === "object" && "default" in exported ? exported.default : exported;
  return (Array.isArray(main) ? main : [main]).filter((p) => typeof p?.activate === "function");
}

/**
 * `error`, or, when it is webpack's for a package missing from the share scope ("Shared module
 * @jupyterlab/apputils doesn't exist in shared scope default"), one that says so for the user.
 * @param {unknown} error
 */
export function sayMissing(error) {
  const match = /Shared module (\S+) doesn't exist in shared scope/.exec(error instanceof Error ? error.message : "");
  return match ? new Error(`its JupyterLab extension needs ${match[1]}, which this page does not have`, { cause: error }) : error;
}

/**
 * What a plugin registered as a widget module's exports: an object, a promise of one, or a
 * function that gives either (often one that imports the library's code).
 * @param {Registered} registered
 */
async function exportsOf({ exports }) {
  try {
    return await (typeof exports === "function" ? exports() : exports);
  } catch (e) {
    throw sayMissing(e);
  }
}

/** Packages of JupyterLab itself: not widget libraries, no use looking for them. */
const JUPYTERLAB_PACKAGE = /^@(jupyterlab|lumino)\//;

/** @param {unknown} token */
const tokenName = (token) => /** @type {Token} */ (token)?.name ?? String(token);

export class Federation {
  /**
   * @param {any} win the page's window (`_JUPYTERLAB`, `document`)
   * @param {ShareScope} scope the page's share scope
   * @param {Token} registryToken @jupyter-widgets/base's `IJupyterWidgetRegistry`
   */
  constructor(win, scope, registryToken) {
    this.win = win;
    this.scope = scope;
    this.registryToken = registryToken;
    /** @type {Map<string, Promise<Container>>} extension -> its container, initialized, with what it needs */
    this.prepared = new Map();
    /** @type {Map<string, Promise<string[]>>} extension -> its plugins activated: what went wrong */
    this.started = new Map();
    /** @type {Map<string, Registered>} widget module -> what a plugin registered (the first) */
    this.registered = new Map();
  }

  /**
   * The exports of widget module `module` (a map of its classes), registered by the plugins of
   * the federated extension `module` whose container is at `url`, module `extension` of it.
   * @param {string} module
   * @param {string} url
   * @param {string} extension e.g. `./extension`
   * @param {Needs} needs
   * @returns {Promise<Record<string, any>>}
   */
  async load(module, url, extension, needs) {
    if (!this.started.has(module)) this.started.set(module, this._start(module, url, extension, needs));
    const problems = await /** @type {Promise<string[]>} */ (this.started.get(module));
    const registered = this.registered.get(module);
    if (!registered) {
      const others = [...this.registered.keys()].join(", ");
      const why = problems.length ? `: ${problems.join("; ")}` : others ? ` (registered here: ${others})` : "";
      throw new Error(`its JupyterLab extension registered no widget module ${module}${why}`);
    }
    registered.value ??= exportsOf(registered);
    return registered.value;
  }

  /**
   * The container of extension `module`, at `url`, initialized with the page's scope (its own
   * packages are then in the scope, for the other containers), and the packages it needs there
   * too; once per page. A needed package the scope lacks is another widget library's (bqscales
   * for bqplot, jupyter-vue for jupyter-vuetify): JupyterLab has every container's packages in
   * its scope from the start, this page only those of the containers it loaded. They must be
   * there before `get`: webpack keeps a module whose import failed half made. One being
   * prepared already is not waited for (its container is initialized first: a cycle ends there).
   * @param {string} module @param {string} url @param {Needs} needs
   * @returns {Promise<Container>}
   */
  prepare(module, url, needs) {
    if (!this.prepared.has(module)) this.prepared.set(module, this._prepare(module, url, needs));
    return /** @type {Promise<Container>} */ (this.prepared.get(module));
  }

  /** @param {string} module @param {string} url @param {Needs} needs @private */
  async _prepare(module, url, needs) {
    const container = await this._container(module, url);
    await container.init(this.scope);
    const unknown = (/** @type {string} */ name) => !this.scope[name] && !JUPYTERLAB_PACKAGE.test(name) && !this.prepared.has(name);
    await Promise.all((await needs.names()).filter(unknown).map((name) => needs.provide(name)));
    return container;
  }

  /**
   * Put `exports` in the scope as package `name` at `version`, unless a container has put it there.
   * @param {string} name @param {string} version @param {any} exports
   */
  share(name, version, exports) {
    this.scope[name] ??= { [version || "0.0.0"]: { get: () => Promise.resolve(() => exports), loaded: 1, from: FROM } };
  }

  /**
   * Prepare the container, get `extension` and activate its widget plugins.
   * @param {string} module @param {string} url @param {string} extension @param {Needs} needs
   * @returns {Promise<string[]>} what went wrong with its plugins
   * @private
   */
  async _start(module, url, extension, needs) {
    const container = await this.prepare(module, url, needs);
    /** @type {Plugin[]} */ let plugins;
    try {
      plugins = pluginsOf((await container.get(extension))()); // a failed consume throws in the factory
    } catch (e) {
      throw sayMissing(e);
    }
    const problems = [];
    for (const plugin of plugins) {
      const problem = await this._activate(module, plugin);
      if (problem) problems.push(problem);
    }
    return problems;
  }

  /**
   * The container that the script at `url` defines, `_JUPYTERLAB[module]`. The script is run
   * even when the page has that container (JupyterLab loads the extensions of its server, with a
   * share scope of its own, and without a widget manager none of their plugins activated): a
   * container is initialized once, so this one must be a new one.
   * @param {string} module @param {string} url
   * @returns {Promise<Container>}
   * @private
   */
  async _container(module, url) {
    const before = this.win._JUPYTERLAB?.[module];
    await loadScript(this.win.document, url, SCRIPT_WAIT);
    const container = this.win._JUPYTERLAB?.[module];
    if (!container || container === before) throw new Error(`${url} defines no container _JUPYTERLAB["${module}"]`);
    return container;
  }

  /**
   * Activate `plugin` if it asks for the widget registry (in `requires` or `optional`): the
   * registry for it, `null` for the optional services this page does not have (as JupyterLab
   * gives them). A plugin that requires another service is not activated.
   * @param {string} module
   * @param {Plugin} plugin
   * @returns {Promise<string>} what went wrong ("" when nothing did, or it is not a widget plugin)
   * @private
   */
  async _activate(module, plugin) {
    const isRegistry = (/** @type {Token} */ t) => t === this.registryToken || tokenName(t) === this.registryToken.name;
    const requires = plugin.requires ?? [];
    const optional = plugin.optional ?? [];
    if (!requires.some(isRegistry) && !optional.some(isRegistry)) return "";
    const id = plugin.id ?? "(no id)";
    const missing = requires.filter((t) => !isRegistry(t)).map(tokenName);
    if (missing.length) {
      const problem = `plugin ${id} requires ${missing.join(", ")}, which this page does not have`;
      console.warn(`pycomm: ${module}: ${problem}: not activated`);
      return problem;
    }
    const registry = { registerWidget: (/** @type {WidgetData} */ data) => this._register(module, data) };
    try {
      await plugin.activate(APP, ...requires.map(() => registry), ...optional.map((t) => (isRegistry(t) ? registry : null)));
      return "";
    } catch (e) {
      console.warn(`pycomm: ${module}: plugin ${id} failed to activate:`, e);
      return `plugin ${id} failed to activate: ${e instanceof Error ? e.message : e}`;
    }
  }

  /**
   * A plugin's `registerWidget`; the first registration of a name is kept.
   * @param {string} module the extension of the plugin
   * @param {WidgetData} data
   * @private
   */
  _register(module, { name, version, exports }) {
    const known = this.registered.get(name);
    if (!known) this.registered.set(name, { version, exports });
    else if (known.version !== version) {
      console.warn(`pycomm: ${module} registers ${name} ${version}; ${name} ${known.version} is registered already and kept`);
    }
  }
}
