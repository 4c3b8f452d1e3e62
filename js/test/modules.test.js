// The layout rules the server relies on: it serves js/ under a versioned path, so
// modules import one another relatively; js/protocol.js mirrors protocol.py.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import * as protocol from "../protocol.js";
import * as pycomm from "../pycomm.js";

const dir = new URL("../", import.meta.url);
const modules = readdirSync(dir).filter((name) => name.endsWith(".js") && name !== "bootstrap.js");
const source = (name) => readFileSync(new URL(name, dir), "utf8");
const sideEffects = (name) => [...source(name).matchAll(/^import\s+"([^"]+)";/gm)].map((m) => m[1]);
const imports = (name) => [...source(name).matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1]);

test("js/protocol.js holds frozen constants only (tests/unit/test_protocol.py compares them with the server's)", () => {
  for (const [name, value] of Object.entries(protocol)) {
    assert.match(name, /^[A-Z0-9_]+$/, name);
    assert.ok(typeof value !== "object" || Object.isFrozen(value), `${name} is not frozen`);
  }
});

test("modules import one another relatively, and the link knows nothing of the connection", () => {
  assert.ok(modules.length >= 8, modules.join());
  for (const name of modules) {
    for (const spec of imports(name)) {
      assert.match(spec, /^\.\/[a-z_]+\.js$/, `${name} imports ${spec}`);
      assert.ok(modules.includes(spec.slice(2)), `${name} imports ${spec}, which is not in js/`);
    }
  }
  assert.ok(!imports("link.js").includes("./connection.js"));
  assert.ok(!source("link.js").includes("connection.js"));
});

test("the entry module names every module it runs: the browser fetches them in one wave", () => {
  const reachable = new Set();
  const visit = (name) => {
    for (const spec of imports(name).concat(sideEffects(name))) {
      const next = spec.slice(2);
      if (!reachable.has(next)) reachable.add(next), visit(next);
    }
  };
  visit("pycomm.js");
  const first = new Set([...imports("pycomm.js"), ...sideEffects("pycomm.js")].map((s) => s.slice(2)));
  assert.deepEqual([...reachable].filter((name) => !first.has(name)).sort(), []);
});

test("the widget manager knows its connection only through a WidgetHost", () => {
  const src = new URL("widgets/src/", dir);
  for (const name of readdirSync(src).filter((n) => n.endsWith(".js"))) {
    const text = readFileSync(new URL(name, src), "utf8");
    assert.ok(!text.includes("connection.js"), `widgets/src/${name} names connection.js`);
    assert.doesNotMatch(text, /\bconnection\._/, `widgets/src/${name} calls into a connection's privates`);
  }
});

test("the entry module exports what the bootstrap and users need", () => {
  for (const name of ["install", "Root", "KernelConnection", "Comm", "BridgeLink", "encode", "decode", "V1_PROTOCOL"]) {
    assert.ok(name in pycomm, name);
  }
  assert.ok(!("KernelClient" in pycomm) && !("PROTOCOL" in pycomm));
});
