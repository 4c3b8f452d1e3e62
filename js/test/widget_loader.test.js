// The widget module loader (js/widgets/src/libraries/loader.js): the server asked once per module and
// range, the module loaded as it found it, and every failure a message for the widget's view.
import assert from "node:assert/strict";
import { test } from "node:test";

import { findPath, ModuleError, ModuleLoader, notShown } from "../widgets/src/libraries/loader.js";

const BASE_URL = "http://host/user/a/";
const REGISTRY = { name: "jupyter.extensions.jupyterWidgetRegistry" };

/** A JSON or text Response. */
function response(status, body) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return { status, ok: status >= 200 && status < 300, json: async () => JSON.parse(text), text: async () => text };
}

/** What the loader uses of a WidgetHost, answering `routes` (path -> Response | Error), recording what it was asked. */
function fakeServer(routes, kernel_id = "k-1") {
  const asked = [];
  return {
    asked,
    kernel_id,
    server_url: (path) => new URL(path, BASE_URL).href,
    server_get: async (path) => {
      asked.push(path);
      const answer = routes[path];
      if (answer instanceof Error) throw answer;
      return answer ?? response(404, "<html>not found</html>");
    },
  };
}

const amdFound = (module, version = "1.0.0") => response(200, {
  module, version, format: "amd", source: "kernel",
  base: `comm-bridge/widgets/files/kernelspecs/python3/nbextensions/${module}/${version}/`, entry: "index.js",
});
const file = (module, version = "1.0.0") => `comm-bridge/widgets/files/kernelspecs/python3/nbextensions/${module}/${version}/index.js`;
const notFound = (module, range) => response(404, {
  module, version: range, message: `${module} ${range} is not installed in the kernel's environment: pip install it there.`,
  looked: [{ source: "kernel", where: "/venv/share/jupyter", found: null, why: "not there" }],
});

function loader(win = {}) {
  return new ModuleLoader({ win, builtins: new Map([["@jupyter-widgets/base", { base: true }]]), shared: [], registryToken: REGISTRY });
}

/** Run `fn` with console.warn silenced; what it warned. */
async function quietly(fn) {
  const warned = [];
  const warn = console.warn;
  console.warn = (...args) => warned.push(args);
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return warned;
}

test("the finder's path: kernel and module each one segment, the range a query", () => {
  assert.equal(findPath("k/1", "@scope/name", "^1.2 || 2"),
    "comm-bridge/widgets/kernels/k%2F1/modules/%40scope%2Fname?version=%5E1.2%20%7C%7C%202");
});

test("an AMD module: asked once per module and range, its file fetched once, its class handed out", async () => {
  const server = fakeServer({
    [findPath("k-1", "ipytree", "^0.2")]: amdFound("ipytree"),
    [findPath("k-1", "ipytree", "*")]: amdFound("ipytree"),
    [file("ipytree")]: response(200, `define(["@jupyter-widgets/base", "module"], function (base, module) {
      return { TreeModel: class { static base = base; static uri = module.uri; } };
    });`),
  });
  const modules = loader();
  const [a, b] = await Promise.all([
    modules.loadClass(server, "TreeModel", "ipytree", "^0.2"),
    modules.loadClass(server, "TreeModel", "ipytree", "^0.2"),
  ]);
  assert.equal(a, b);
  assert.deepEqual(a.base, { base: true });
  assert.equal(a.uri, BASE_URL + file("ipytree"));
  assert.equal(await modules.loadClass(server, "TreeModel", "ipytree", ""), a); // any version: asked, not loaded again
  assert.deepEqual(server.asked, [findPath("k-1", "ipytree", "^0.2"), file("ipytree"), findPath("k-1", "ipytree", "*")]);
});

test("a 404 becomes the view's message: the server's sentence, once for every widget of that module and range", async () => {
  const server = fakeServer({ [findPath("k-1", "jupyter-matplotlib", "^0.12")]: notFound("jupyter-matplotlib", "^0.12") });
  const modules = loader();
  const warned = await quietly(async () => {
    for (const name of ["MPLCanvasModel", "ToolbarModel"]) {
      const error = await modules.loadClass(server, name, "jupyter-matplotlib", "^0.12").catch((e) => e);
      assert.ok(error instanceof ModuleError);
      assert.equal(notShown(error), "jupyter-matplotlib ^0.12 is not installed in the kernel's environment: pip install it there.");
      assert.equal(error.notFound.looked[0].where, "/venv/share/jupyter");
    }
  });
  assert.equal(server.asked.length, 1);
  assert.equal(warned.length, 1, "the console is told once, with where the server looked");
  assert.deepEqual(warned[0][1].looked, [{ source: "kernel", where: "/venv/share/jupyter", found: null, why: "not there" }]);
});

test("other failures say what went wrong, naming the module", async () => {
  const server = fakeServer({
    [findPath("k-1", "denied", "*")]: response(403, { message: "Forbidden" }),
    [findPath("k-1", "offline", "*")]: new TypeError("Failed to fetch"),
    [findPath("k-1", "strange", "*")]: response(200, { module: "strange", format: "esm" }),
    [findPath("k-1", "gone", "*")]: amdFound("gone", "2.0.0"),
    [findPath("k-1", "breaks", "*")]: amdFound("breaks"),
    [file("breaks")]: response(200, `define([], function () { throw new Error("no WebGL"); });`),
    [findPath("k-1", "empty", "*")]: amdFound("empty"),
    [file("empty")]: response(200, `define([], function () { return {}; });`),
  });
  const why = (module, className = "Model") => loader().loadClass(server, className, module, "*").catch(notShown);
  await quietly(async () => {
    assert.equal(await why("denied"), "denied widget not shown: asked for denied *, the server gave HTTP 403.");
    assert.equal(await why("offline"), "offline widget not shown: the server could not be asked for offline * (Failed to fetch).");
    assert.equal(await why("strange"), "strange widget not shown: asked for strange *, the server gave an answer it does not know.");
    assert.equal(await why("gone"), `gone widget not shown: gone 2.0.0, from the kernel's environment, could not be loaded: ${BASE_URL}${file("gone", "2.0.0")} answered HTTP 404`);
    assert.equal(await why("breaks"), "breaks widget not shown: breaks 1.0.0, from the kernel's environment, could not be loaded: breaks: its factory failed: no WebGL");
    assert.equal(await why("empty", "EmptyModel"), "empty widget not shown: empty has no EmptyModel.");
  });
  assert.equal(notShown(new Error("boom")), "Widget not shown: Error: boom");
});

test("a dependency on another library: found by the server (any version); when it is missing, the message says so", async () => {
  const server = fakeServer({
    [findPath("k-1", "jupyter-vuetify", "^1.9")]: amdFound("jupyter-vuetify"),
    [file("jupyter-vuetify")]: response(200, `define(["jupyter-vue"], function (vue) { return { VuetifyModel: class extends vue.VueModel {} }; });`),
    [findPath("k-1", "jupyter-vue", "*")]: notFound("jupyter-vue", "*"),
  });
  let error;
  await quietly(async () => {
    error = await loader().loadClass(server, "VuetifyModel", "jupyter-vuetify", "^1.9").catch((e) => e);
  });
  assert.ok(error instanceof ModuleError, String(error));
  assert.equal(notShown(error),
    "jupyter-vuetify widget not shown: it needs jupyter-vue. jupyter-vue * is not installed in the kernel's environment: pip install it there.");
});

test("a federated module: the container's script from the server's files, its registered classes", async () => {
  const base = "comm-bridge/widgets/files/kernelspecs/python3/labextensions/ipyevents/2.0.2/";
  const server = fakeServer({
    [findPath("k-1", "ipyevents", "^2")]: response(200, {
      module: "ipyevents", version: "2.0.2", format: "federated", source: "kernel", base,
      entry: "static/remoteEntry.abc.js", extension: "./extension",
    }),
  });
  const EventModel = class {};
  const plugin = { requires: [REGISTRY], activate: (app, r) => r.registerWidget({ name: "ipyevents", version: "2.0.2", exports: { EventModel } }) };
  const container = { init: async () => {}, get: async () => () => ({ default: plugin }) };
  const scripts = [];
  const win = {
    document: {
      createElement: () => ({}),
      head: { append: (s) => (scripts.push(s.src), (win._JUPYTERLAB = { ipyevents: container }), setImmediate(s.onload)) },
    },
  };
  assert.equal(await loader(win).loadClass(server, "EventModel", "ipyevents", "^2"), EventModel);
  assert.deepEqual(scripts, [`${BASE_URL}${base}static/remoteEntry.abc.js`]);
});

test("a federated module's sharedPackages that are not bundled: another library, found and shared before its get", async () => {
  const base = "comm-bridge/widgets/files/kernelspecs/python3/labextensions/bqplot/0.6.1/";
  const server = fakeServer({
    [findPath("k-1", "bqplot", "^0.6")]: response(200, {
      module: "bqplot", version: "0.6.1", format: "federated", source: "kernel", base, entry: "static/remoteEntry.1.js", extension: "./extension",
    }),
    [`${base}package.json`]: response(200, { name: "bqplot", jupyterlab: { sharedPackages: {
      "@jupyter-widgets/base": { bundled: false, singleton: true }, bqscales: { bundled: false, singleton: true }, d3: { bundled: true },
    } } }),
    [findPath("k-1", "bqscales", "*")]: amdFound("bqscales", "0.3.7"),
    [file("bqscales", "0.3.7")]: response(200, `define([], function () { return { LinearScaleModel: class {} }; });`),
  });
  let scopeAtGet;
  const container = {
    init: async (scope) => void (container.scope = scope),
    get: async () => ((scopeAtGet = { ...container.scope }), () => ({ default: { requires: [REGISTRY], activate: (app, r) =>
      r.registerWidget({ name: "bqplot", version: "0.6.1", exports: async () => ({ FigureModel: class {} }) }) } })),
  };
  const win = {
    document: {
      createElement: () => ({}),
      head: { append: (s) => ((win._JUPYTERLAB = { bqplot: container }), setImmediate(s.onload)) },
    },
  };
  const modules = new ModuleLoader({ win, builtins: new Map(), shared: [["@jupyter-widgets/base", "6.0.12", {}]], registryToken: REGISTRY });
  assert.equal(typeof await modules.loadClass(server, "FigureModel", "bqplot", "^0.6"), "function");
  const bqscales = await modules.loadClass(server, "LinearScaleModel", "bqscales", "");
  assert.deepEqual(Object.keys(scopeAtGet.bqscales), ["0.3.7"]);
  assert.equal((await scopeAtGet.bqscales["0.3.7"].get())().LinearScaleModel, bqscales);
  assert.equal(server.asked.filter((path) => path === findPath("k-1", "bqscales", "*")).length, 1);
});
