/**
 * AMD modules (a widget library's nbextension, `define([deps...], factory)`) run in the page
 * with a `define` of their own: the page's own `define` and `require` (a classic Notebook's
 * RequireJS, or none) are never touched. One module per name per page, as AMD has one name space.
 * @module amd
 */

/**
 * @typedef {{name: string | null, deps: string[], factory: any}} DefineCall  one `define(...)`
 * @typedef {(name: string) => Promise<any>} Other  a dependency this page has not defined: loaded
 *   by the caller (any version: `jupyter-vue` for `jupyter-vuetify`)
 * @typedef {{id: string, uri: string, exports: any, config(): object}} AmdModule  the `module` dependency
 * @typedef {{
 *   id: string, module: AmdModule, other: Other, value: Promise<any>,
 *   done: boolean, result: any, waits: Set<string>,
 * }} Record  a module defined in this page, made or being made
 */

/** The dependencies of a `define(factory)` without a list, by the factory's arity (as RequireJS). */
const COMMONJS = ["require", "exports", "module"];

/**
 * The arguments of one `define` call, in any of AMD's forms: `(factory)`, `(deps, factory)`,
 * `(name, factory)`, `(name, deps, factory)`; `factory` may be the module's value itself.
 * @param {any[]} args
 * @returns {DefineCall}
 */
export function defineCall(args) {
  const rest = [...args];
  const name = typeof rest[0] === "string" ? rest.shift() : null;
  const deps = Array.isArray(rest[0]) ? rest.shift() : null;
  const factory = rest[0];
  const arity = typeof factory === "function" ? Math.min(factory.length, COMMONJS.length) : 0;
  return { name, deps: deps ?? COMMONJS.slice(0, arity), factory };
}

/**
 * Run the text of an AMD file in sloppy mode with `this` = `win` and a `define` of our own in
 * scope (a parameter of the function it runs in, so no global is set or read); its `define`
 * calls, in order. `define.amd` is set: UMD wrappers test it to take the AMD branch.
 * @param {any} win the page's window
 * @param {string} source
 * @param {string} url the file's, for the browser's debugger (`sourceURL`)
 * @returns {DefineCall[]}
 */
export function evaluate(win, source, url) {
  /** @type {DefineCall[]} */ const calls = [];
  /** @param {any[]} args */
  const define = (...args) => void calls.push(defineCall(args));
  define.amd = {};
  const run = new Function("define", `${source}\n//# sourceURL=${url}`);
  asScript(win?.document, url, () => run.call(win, define));
  return calls;
}

/**
 * Run `fn` with `document.currentScript` the `<script src=url>` a file loaded as a script would
 * have (set on the document itself, for this call only): code run from a string has none, and
 * webpack's "auto" publicPath then takes the last script of the page, which is another
 * library's (the datagrid's images were asked of ipyevents' folder).
 * @template T
 * @param {Document | undefined} doc
 * @param {string} url
 * @param {() => T} fn
 * @returns {T}
 */
export function asScript(doc, url, fn) {
  if (!doc || !url) return fn();
  const script = { tagName: "SCRIPT", src: url, getAttribute: (n) => (n === "src" ? url : null) };
  Object.defineProperty(doc, "currentScript", { value: script, configurable: true });
  try {
    return fn();
  } finally {
    delete /** @type {any} */ (doc).currentScript;
  }
}

export class AmdModules {
  /**
   * @param {any} win the page's window (`this` of the files)
   * @param {Map<string, any>} builtins dependencies the bundle has (`@jupyter-widgets/base`...)
   */
  constructor(win, builtins) {
    this.win = win;
    this.builtins = builtins;
    /** @type {Map<string, Record>} by module name */ this.records = new Map();
  }

  /**
   * The value of module `id`, from the AMD file at `url` (fetched with `text` unless this page
   * has `id` already).
   * @param {string} id
   * @param {string} url the file's absolute URL (`module.uri`)
   * @param {() => Promise<string>} text
   * @param {Other} other
   * @returns {Promise<any>}
   */
  load(id, url, text, other) {
    const known = this.records.get(id);
    if (known) {
      if (known.module.uri !== url) console.warn(`pycomm: ${id} is loaded from ${known.module.uri} already; ${url} is not loaded`);
      return known.value;
    }
    const record = this._record(id, url, other);
    this._settle(record, text().then((source) => this._run(record, source)));
    return record.value;
  }

  /**
   * @param {string} id @param {string} uri @param {Other} other
   * @returns {Record}
   * @private
   */
  _record(id, uri, other) {
    const module = { id, uri, exports: {}, config: () => ({}) };
    /** @type {Record} */
    const record = { id, module, other, value: Promise.resolve(), done: false, result: undefined, waits: new Set() };
    this.records.set(id, record);
    return record;
  }

  /** @param {Record} record @param {Promise<any>} value @private */
  _settle(record, value) {
    record.value = value.then((result) => Object.assign(record, { done: true, result }).result);
    record.value.catch(() => {}); // a module nothing waits for fails quietly; its users get the error
  }

  /**
   * Run the file of `record` and make its module: the `define` named `record.id`, else the
   * anonymous one, else the file's only one. Its other named defines become modules too.
   * @param {Record} record
   * @param {string} source
   * @private
   */
  async _run(record, source) {
    const calls = evaluate(this.win, source, record.module.uri);
    const main = calls.find((c) => c.name === record.id) ?? calls.find((c) => c.name === null) ??
      (calls.length === 1 ? calls[0] : undefined);
    if (!main) {
      const names = calls.map((c) => c.name).join(", ") || "nothing";
      throw new Error(`${record.module.uri} does not define ${record.id} (it defines ${names})`);
    }
    for (const call of calls) {
      if (call === main || !call.name || this.records.has(call.name)) continue;
      const named = this._record(call.name, record.module.uri, record.other);
      this._settle(named, this._make(named, call));
    }
    return this._make(record, main);
  }

  /**
   * Call `call`'s factory with its dependencies; its value is what it returns, else its
   * `module.exports`.
   * @param {Record} record
   * @param {DefineCall} call
   * @private
   */
  async _make(record, { deps, factory }) {
    if (typeof factory !== "function") return factory;
    const args = await Promise.all(deps.map((name) => this._dependency(record, name)));
    let value;
    try {
      // `this` as RequireJS gives it; webpack's "auto" publicPath, which finds the files a
      // library loads (images, fonts, chunks) beside its script, reads document.currentScript
      value = asScript(this.win?.document, record.module.uri, () =>
        factory.apply(record.module.exports, args));
    } catch (e) {
      throw new Error(`${record.id}: its factory failed: ${e instanceof Error ? e.message : e}`, { cause: e });
    }
    return value === undefined ? record.module.exports : value;
  }

  /**
   * Dependency `name` of `record`. A module that (through others) waits for `record` gives its
   * `exports` as made so far, as RequireJS does in a cycle; any other is awaited.
   * @param {Record} record
   * @param {string} name
   * @returns {Promise<any>}
   * @private
   */
  async _dependency(record, name) {
    if (name === "require") return this._require(record);
    if (name === "exports") return record.module.exports;
    if (name === "module") return record.module;
    if (this.builtins.has(name)) return this.builtins.get(name);
    const known = this.records.get(name);
    if (known?.done) return known.result;
    if (known && this._waitsFor(name, record.id)) return known.module.exports;
    record.waits.add(name);
    try {
      return await (known ? known.value : record.other(name));
    } finally {
      record.waits.delete(name);
    }
  }

  /**
   * Whether module `from` waits, directly or through others, for module `to`.
   * @param {string} from @param {string} to @returns {boolean} @private
   */
  _waitsFor(from, to, seen = new Set()) {
    if (from === to) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    return [...(this.records.get(from)?.waits ?? [])].some((next) => this._waitsFor(next, to, seen));
  }

  /**
   * The `require` dependency of `record`: `require(name)` gives a module made already,
   * `require([names], callback, errback)` loads them, `require.toUrl(path)` is relative to
   * the file (libraries find their CSS and images so).
   * @param {Record} record
   * @private
   */
  _require(record) {
    /** @param {string | string[]} names @param {Function} [callback] @param {Function} [errback] */
    const require = (names, callback, errback) => {
      if (typeof names === "string") return this._made(record, names);
      Promise.all(names.map((name) => this._dependency(record, name))).then(
        (values) => callback?.(...values),
        (e) => (errback ? errback(e) : console.error(`pycomm: ${record.id}: require(${names}) failed:`, e)),
      );
    };
    require.toUrl = (/** @type {string} */ path) => new URL(path, record.module.uri).href;
    return require;
  }

  /** @param {Record} record @param {string} name @private */
  _made(record, name) {
    if (name === "exports") return record.module.exports;
    if (name === "module") return record.module;
    if (this.builtins.has(name)) return this.builtins.get(name);
    const known = this.records.get(name);
    if (known?.done) return known.result;
    throw new Error(`${record.id}: require("${name}"): ${name} is not loaded (list it in define's dependencies)`);
  }
}
