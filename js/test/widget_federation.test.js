// Federated JupyterLab extensions in the widget manager (js/widgets/src/libraries/federation.js,
// share_scope.js): a container on a fake window, initialized with the page's share scope, its
// widget plugins activated with our registry.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Federation, pluginsOf, sayMissing } from "../widgets/src/libraries/federation.js";
import { FROM, shareScope } from "../widgets/src/libraries/share_scope.js";
import { recorder } from "./fake.js";

/** A Lumino Token, as @lumino/coreutils makes them. */
class Token {
  constructor(name) {
    this.name = name;
  }
}
const REGISTRY = new Token("jupyter.extensions.jupyterWidgetRegistry");
const SETTINGS = new Token("@jupyterlab/settingregistry:ISettingRegistry");
const COMMANDS = new Token("@jupyterlab/application:ICommandPalette");

/**
 * A window whose `<script src>` loads run `scripts[src]` (what the script defines) or fail.
 * @param {Record<string, (win: any) => void>} scripts
 */
function fakeWindow(scripts) {
  const win = { appended: [] };
  win.document = {
    createElement: (tag) => ({ tag }),
    head: {
      append(script) {
        win.appended.push(script.src);
        setImmediate(() => {
          if (!scripts[script.src]) return script.onerror?.({});
          scripts[script.src](win);
          script.onload?.({});
        });
      },
    },
  };
  return win;
}

/**
 * A container as webpack makes them: `init(scope)` once, which adds the packages it provides
 * (name -> [version, module]) to the scope; `get(module)` consumes `consumes` from the scope
 * (webpack's error when one is missing), then gives a factory: `modules[module](scope, consumed)`.
 */
function fakeContainer(modules, provides = { "d3-selection": ["1.4.2", { select: 1 }] }, consumes = []) {
  const container = {
    scope: null,
    init(scope) {
      if (container.scope && container.scope !== scope) throw new Error("initialized with another share scope");
      container.scope = scope;
      for (const [name, [version, module]] of Object.entries(provides)) {
        scope[name] ??= {};
        scope[name][version] ??= { get: () => Promise.resolve(() => module), from: "fake" };
      }
      return Promise.resolve();
    },
    async get(module) {
      if (!(module in modules)) throw new Error(`Module ${module} does not exist in container.`);
      const consumed = await Promise.all(consumes.map((name) => consume(container.scope, name)));
      return () => modules[module](container.scope, consumed);
    },
  };
  return container;
}

/** An extension that needs nothing in the scope but what is there. */
const NONE = { names: async () => [], provide: async (name) => assert.fail(`${name} asked for`) };

/** A package from the scope as a consuming container gets it, or webpack's error. */
async function consume(scope, name) {
  if (!scope[name]) throw new Error(`Shared module ${name} doesn't exist in shared scope default`);
  return (await Object.values(scope[name])[0].get())();
}

/** Run `fn` with console.warn recorded. */
async function withWarnings(fn) {
  const log = recorder();
  const warn = console.warn;
  console.warn = log.warn;
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return log.lines.warn;
}

test("the share scope holds each package under its version, loaded, as a factory of the bundle's module", async () => {
  const base = { DOMWidgetModel: class {} };
  const widgets = { Widget: class {} };
  const scope = shareScope([["@jupyter-widgets/base", "6.0.12", base], ["@lumino/widgets", "2.11.0", widgets]]);
  assert.deepEqual(Object.keys(scope), ["@jupyter-widgets/base", "@lumino/widgets"]);
  assert.deepEqual(Object.keys(scope["@jupyter-widgets/base"]), ["6.0.12"]);
  const entry = scope["@lumino/widgets"]["2.11.0"];
  assert.equal(entry.loaded, 1);
  assert.equal(entry.from, FROM);
  const factory = await entry.get();
  assert.equal(factory(), widgets);
});

test("a federated library: its script, its container initialized with the page's scope, its widget plugins activated", async () => {
  const Figure = class {};
  const activated = [];
  const plugins = [
    {
      id: "jupyter-matplotlib:plugin",
      requires: [REGISTRY],
      optional: [SETTINGS],
      activate(app, registry, settings) {
        activated.push(["widgets", settings]);
        registry.registerWidget({ name: "jupyter-matplotlib", version: "0.11.3", exports: () => Promise.resolve({ Figure }) });
      },
    },
    { id: "jupyter-matplotlib:palette", requires: [REGISTRY, COMMANDS], activate: () => activated.push(["palette"]) },
    { id: "jupyter-matplotlib:mime", requires: [], activate: () => activated.push(["mime"]) },
  ];
  const container = fakeContainer({ "./extension": () => ({ __esModule: true, default: plugins }) });
  const url = "http://h/comm-bridge/widgets/files/server/labextensions/jupyter-matplotlib/0.11.3/static/remoteEntry.1.js";
  const win = fakeWindow({ [url]: (w) => ((w._JUPYTERLAB ??= {})["jupyter-matplotlib"] = container) });
  const scope = shareScope([["@jupyter-widgets/base", "6.0.12", {}]]);
  const federation = new Federation(win, scope, REGISTRY);

  let exports;
  const warnings = await withWarnings(async () => {
    exports = await federation.load("jupyter-matplotlib", url, "./extension", NONE);
  });
  assert.equal(exports.Figure, Figure);
  assert.equal(container.scope, scope);
  assert.ok(scope["d3-selection"]["1.4.2"], "the container's own packages are in the page's scope, for the next container");
  // the registry's plugin activated, with null for the optional service this page does not have;
  // the one that requires another service not; the one that is not a widget plugin not either
  assert.deepEqual(activated, [["widgets", null]]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /jupyter-matplotlib:palette requires @jupyterlab\/application:ICommandPalette, which this page does not have/);
  // once per page
  assert.equal(await federation.load("jupyter-matplotlib", url, "./extension", NONE), exports);
  assert.deepEqual(win.appended, [url]);
});

test("a registry token of another copy of @jupyter-widgets/base is known by its name; exports as a promise or an object", async () => {
  const copy = new Token(REGISTRY.name);
  const plugin = {
    id: "ipyevents",
    optional: [copy],
    activate(app, registry) {
      registry.registerWidget({ name: "ipyevents", version: "2.0.2", exports: Promise.resolve({ Event: 1 }) });
      registry.registerWidget({ name: "ipyevents-extra", version: "2.0.2", exports: { Extra: 2 } });
    },
  };
  const container = fakeContainer({ "./extension": () => plugin });
  const win = fakeWindow({ "http://h/e.js": (w) => ((w._JUPYTERLAB ??= {}).ipyevents = container) });
  const federation = new Federation(win, {}, REGISTRY);
  assert.deepEqual(await federation.load("ipyevents", "http://h/e.js", "./extension", NONE), { Event: 1 });
  assert.deepEqual(await federation.registered.get("ipyevents-extra").exports, { Extra: 2 });
});

test("failures: the script does not load, defines no container, or registers no widget module", async () => {
  const win = fakeWindow({
    "http://h/empty.js": () => {},
    "http://h/other.js": (w) => ((w._JUPYTERLAB ??= {}).other = fakeContainer({ "./extension": () => [] })),
    "http://h/fails.js": (w) => ((w._JUPYTERLAB ??= {}).fails = fakeContainer({
      "./extension": () => ({ default: { id: "p", requires: [REGISTRY], activate: () => { throw new Error("no app.commands"); } } }),
    })),
  });
  const federation = new Federation(win, {}, REGISTRY);
  await assert.rejects(federation.load("gone", "http://h/gone.js", "./extension", NONE), /http:\/\/h\/gone.js could not be loaded/);
  await assert.rejects(federation.load("empty", "http://h/empty.js", "./extension", NONE), /defines no container _JUPYTERLAB\["empty"\]/);
  await assert.rejects(federation.load("other", "http://h/other.js", "./extension", NONE), /registered no widget module other/);
  const warnings = await withWarnings(() =>
    assert.rejects(federation.load("fails", "http://h/fails.js", "./extension", NONE), /registered no widget module fails: plugin p failed to activate: no app.commands/));
  assert.equal(warnings.length, 1);
});

test("a container the page had already (JupyterLab's, with its own scope) is not reused: the script runs again", async () => {
  const theirs = fakeContainer({});
  theirs.init({}); // JupyterLab's share scope
  const ours = fakeContainer({ "./extension": () => ({ default: { requires: [REGISTRY], activate: (app, r) => r.registerWidget({ name: "bqplot", version: "0.12.0", exports: { Figure: 1 } }) } }) });
  const win = fakeWindow({ "http://h/bq.js": (w) => (w._JUPYTERLAB.bqplot = ours) });
  win._JUPYTERLAB = { bqplot: theirs };
  const federation = new Federation(win, {}, REGISTRY);
  assert.deepEqual(await federation.load("bqplot", "http://h/bq.js", "./extension", NONE), { Figure: 1 });
});

test("what an extension needs from another library is in the scope before its get; a cycle ends at the one being prepared", async () => {
  const urls = { bqplot: "http://h/bqplot.js", bqscales: "http://h/bqscales.js" };
  const bqscales = { LinearScale: class {} };
  const plugin = (name, exports) => ({ requires: [REGISTRY], activate: (app, r) => r.registerWidget({ name, version: "1", exports }) });
  const bqplotContainer = fakeContainer({ "./extension": (scope, [scales]) => ({ default: plugin("bqplot", { scales }) }) },
    { bqplot: ["0.6.1", { bqplot: 1 }] }, ["bqscales"]);
  const bqscalesContainer = fakeContainer({ "./extension": () => ({ default: plugin("bqscales", bqscales) }) }, { bqscales: ["0.3.7", bqscales] });
  const win = fakeWindow({
    [urls.bqplot]: (w) => ((w._JUPYTERLAB ??= {}).bqplot = bqplotContainer),
    [urls.bqscales]: (w) => ((w._JUPYTERLAB ??= {}).bqscales = bqscalesContainer),
  });
  const federation = new Federation(win, shareScope([["@jupyter-widgets/base", "6.0.12", {}]]), REGISTRY);
  const provided = [];
  const needsOf = {
    bqplot: ["@jupyter-widgets/base", "bqscales", "@jupyterlab/apputils"],
    bqscales: ["@jupyter-widgets/base", "bqplot"],
  };
  const needs = (module) => ({
    names: async () => needsOf[module],
    provide: async (name) => (provided.push(name), federation.prepare(name, urls[name], needs(name))),
  });
  const exports = await federation.load("bqplot", urls.bqplot, "./extension", needs("bqplot"));
  assert.equal(exports.scales, bqscales);
  assert.deepEqual(provided, ["bqscales"]); // base is there, apputils is JupyterLab's, bqplot is being prepared
  assert.deepEqual(win.appended, [urls.bqplot, urls.bqscales]);
  assert.equal(await federation.load("bqscales", urls.bqscales, "./extension", needs("bqscales")), bqscales); // prepared once
  assert.deepEqual(win.appended, [urls.bqplot, urls.bqscales]);
});

test("a package JupyterLab has and this page has not: the message names it", async () => {
  const missing = new Error("Shared module @jupyterlab/apputils doesn't exist in shared scope default");
  assert.equal(sayMissing(missing).message, "its JupyterLab extension needs @jupyterlab/apputils, which this page does not have");
  const other = new Error("boom");
  assert.equal(sayMissing(other), other);
  // webpack swallows a failed consume at `get` and throws it when the module is made: in the factory
  const container = fakeContainer({ "./extension": () => { throw missing; } });
  const win = fakeWindow({ "http://h/dg.js": (w) => ((w._JUPYTERLAB ??= {}).ipydatagrid = container) });
  const federation = new Federation(win, {}, REGISTRY);
  await assert.rejects(federation.load("ipydatagrid", "http://h/dg.js", "./extension", NONE),
    /^Error: its JupyterLab extension needs @jupyterlab\/apputils, which this page does not have$/);
});

test("share: a module put in the scope unless a container put that package there", () => {
  const federation = new Federation({}, {}, REGISTRY);
  federation.share("bqscales", "0.3.7", { amd: 1 });
  federation.share("bqscales", "0.3.8", { amd: 2 });
  assert.deepEqual(Object.keys(federation.scope.bqscales), ["0.3.7"]);
  assert.equal(federation.scope.bqscales["0.3.7"].loaded, 1);
});

test("pluginsOf: a default export of one plugin or an array, or the module itself", () => {
  const p = { activate() {} };
  assert.deepEqual(pluginsOf({ default: p }), [p]);
  assert.deepEqual(pluginsOf({ default: [p, { id: "not a plugin" }] }), [p]);
  assert.deepEqual(pluginsOf(p), [p]);
  assert.deepEqual(pluginsOf(undefined), []);
});
