// The AMD runner of the widget manager (js/widgets/src/libraries/amd.js): nbextension files run with a
// define of their own, their dependencies from the bundle, from the same file, or loaded.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AmdModules, defineCall, evaluate } from "../widgets/src/libraries/amd.js";

const BASE = { DOMWidgetView: class {}, name: "base" };
const URL_OF = (name) => `http://host/base/comm-bridge/widgets/files/server/nbextensions/${name}/1.0.0/index.js`;

/** AmdModules over `files` (name -> text); `other` loads another file by name, as the loader does. */
function amdOver(files, win = { name: "window" }) {
  const amd = new AmdModules(win, new Map([["@jupyter-widgets/base", BASE]]));
  const fetched = [];
  const load = (name) => {
    if (!(name in files)) return Promise.reject(new Error(`no ${name} here`));
    return amd.load(name, URL_OF(name), async () => (fetched.push(name), files[name]), load);
  };
  return { amd, load, fetched };
}

test("define's forms: (factory), (deps, factory), (name, factory), (name, deps, factory), a value", () => {
  const f = (a, b) => [a, b];
  assert.deepEqual(defineCall([f]), { name: null, deps: ["require", "exports"], factory: f });
  assert.deepEqual(defineCall([() => 1]).deps, []);
  assert.deepEqual(defineCall([["x"], f]), { name: null, deps: ["x"], factory: f });
  assert.deepEqual(defineCall(["n", f]), { name: "n", deps: ["require", "exports"], factory: f });
  assert.deepEqual(defineCall(["n", ["x"], f]), { name: "n", deps: ["x"], factory: f });
  assert.deepEqual(defineCall([{ a: 1 }]), { name: null, deps: [], factory: { a: 1 } });
});

test("a file runs in sloppy mode, `this` the window, with its own define (define.amd set), no global touched", () => {
  const win = { name: "window" };
  const before = globalThis.define;
  const calls = evaluate(win, "seen = this.name; define(['a'], function (a) {}); if (!define.amd) throw 1;", "http://h/x.js");
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].deps, ["a"]);
  assert.equal(globalThis.define, before);
  assert.equal(globalThis.seen, "window"); // sloppy: an undeclared name is the global object's
  delete globalThis.seen;
});

test("an anonymous define gets the bundle's @jupyter-widgets/base, `module` (id, uri, config) and `exports`", async () => {
  const { load } = amdOver({
    lib: `define(["@jupyter-widgets/base", "module", "exports"], function (base, module, exports) {
      exports.View = class extends base.DOMWidgetView {};
      exports.where = module.uri; exports.id = module.id; exports.config = module.config();
    });`,
  });
  const lib = await load("lib");
  assert.ok(new lib.View() instanceof BASE.DOMWidgetView);
  assert.equal(lib.where, URL_OF("lib"));
  assert.equal(lib.id, "lib");
  assert.deepEqual(lib.config, {});
});

test("a named define of the module is its value; the file's other named defines are modules too", async () => {
  const { load, fetched } = amdOver({
    lib: `define("helper", [], function () { return { twice: (x) => 2 * x }; });
          define("lib", ["helper"], function (helper) { return { four: helper.twice(2) }; });`,
    other: `define(["helper", "require"], function (helper, require) {
      return { six: helper.twice(3), same: require("helper") === helper, css: require.toUrl("./style.css") };
    });`,
  });
  assert.equal((await load("lib")).four, 4);
  const other = await load("other");
  assert.equal(other.six, 6);
  assert.equal(other.same, true);
  assert.equal(other.css, URL_OF("other").replace("index.js", "style.css"));
  assert.deepEqual(fetched, ["lib", "other"]); // helper came with lib
});

test("a dependency on another library loads it (once) and hands over its module", async () => {
  const { load, fetched } = amdOver({
    "jupyter-vue": `define(["@jupyter-widgets/base"], function (base) { return { VueModel: class {} }; });`,
    "jupyter-vuetify": `define(["jupyter-vue"], function (vue) { return { ButtonModel: class extends vue.VueModel {} }; });`,
    "jupyter-vuetify-2": `define(["jupyter-vue"], function (vue) { return { vue }; });`,
  });
  const [vuetify, again] = await Promise.all([load("jupyter-vuetify"), load("jupyter-vuetify-2")]);
  const vue = await load("jupyter-vue");
  assert.ok(new vuetify.ButtonModel() instanceof vue.VueModel);
  assert.equal(again.vue, vue);
  assert.deepEqual(fetched.sort(), ["jupyter-vue", "jupyter-vuetify", "jupyter-vuetify-2"]);
});

test("a cycle between two files: the one asked second gets the first's exports as made so far", async () => {
  const { load } = amdOver({
    a: `define(["exports", "b"], function (exports, b) { exports.name = "a"; exports.b = b; });`,
    b: `define(["exports", "a"], function (exports, a) { exports.name = "b"; exports.a = a; });`,
  });
  const a = await load("a");
  assert.equal(a.b.name, "b");
  assert.equal(a.b.a, a); // the same object, filled in since
});

test("a factory that throws rejects its module, and those that depend on it, with its error", async () => {
  const { load } = amdOver({
    bad: `define([], function () { throw new Error("no canvas here"); });`,
    user: `define(["bad"], function (bad) { return { bad }; });`,
  });
  await assert.rejects(load("bad"), /bad: its factory failed: no canvas here/);
  await assert.rejects(load("user"), /bad: its factory failed: no canvas here/);
});

test("a file with no define, a syntax error, or a missing dependency fails with a reason", async () => {
  const { load } = amdOver({
    none: `this.x = 1;`,
    broken: `define([], function () {`,
    lost: `define(["nowhere"], function () {});`,
    named: `define("something-else", [], function () {}); define("and-more", [], function () {});`,
  });
  await assert.rejects(load("none"), /does not define none \(it defines nothing\)/);
  await assert.rejects(load("broken"), SyntaxError);
  await assert.rejects(load("lost"), /no nowhere here/);
  await assert.rejects(load("named"), /does not define named \(it defines something-else, and-more\)/);
});

test("a module is made once per page: a second URL for the same name is not loaded", async () => {
  const { amd } = amdOver({});
  const text = async () => `define([], function () { return { made: Math.random() }; });`;
  const first = await amd.load("lib", "http://h/1/index.js", text, async () => {});
  let asked = false;
  const second = await amd.load("lib", "http://h/2/index.js", async () => ((asked = true), ""), async () => {});
  assert.equal(second, first);
  assert.equal(asked, false);
});

test("a file's code sees document.currentScript as its own <script src> (webpack's auto publicPath)", async () => {
  const { asScript } = await import("../widgets/src/libraries/amd.js");
  const doc = {};
  const seen = asScript(doc, "http://h/files/lib/index.js", () => doc.currentScript.src);
  assert.equal(seen, "http://h/files/lib/index.js");
  assert.equal("currentScript" in doc, false); // for that call only
});
