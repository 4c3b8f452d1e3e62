// The bootstrap runs in a fake page (node:vm) whose dynamic import is replaced
// by a function: node's vm cannot import() without an experimental flag.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

import * as pycomm from "../pycomm.js";
import { FakeSocket } from "./fake.js";

const template = readFileSync(new URL("../bootstrap.js", import.meta.url), "utf8");
const PLACEHOLDER = "__PYCOMM_ARGS__";

/** The bootstrap as the server injects it (injection.compact): comments and indentation dropped. */
function compact(text) {
  const lines = text.split(/\r?\n/).map((line) => line.replace(/\/\*\*.*?\*\//g, "").trim());
  const code = lines.filter((line) => line && !line.startsWith("//")).join("\n");
  for (const bad of ["</", "<!--", "-->", "\u2028", "\u2029"]) {
    if (code.includes(bad)) throw new Error(`bootstrap template contains ${JSON.stringify(bad)}`);
  }
  if (code.split(PLACEHOLDER).length !== 2) throw new Error(`bootstrap template needs exactly one ${PLACEHOLDER}`);
  return code;
}

class FakeElement {
  constructor(parent = null) {
    this.parent = parent;
    this.attributes = new Map();
  }
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }
  getAttribute(name) {
    return this.attributes.get(name) ?? null;
  }
  closest(selector) {
    const name = selector.replace(/^\[|\]$/g, "");
    for (let el = this; el; el = el.parent) if (el.attributes.has(name)) return el;
    return null;
  }
  get parentElement() {
    return this.parent;
  }
}

function makePage({ configJson, bodyData = {}, href = "http://127.0.0.1:8888/user/al/lab" } = {}) {
  const imports = [];
  const errors = [];
  const page = {
    imports,
    errors,
    document: {
      currentScript: null,
      body: { dataset: bodyData },
      getElementById: (id) => (id === "jupyter-config-data" && configJson ? { textContent: configJson } : null),
    },
    location: { href },
    crypto: globalThis.crypto,
    URL,
    Promise,
    Object,
    String,
    Boolean,
    Error,
    JSON,
    Uint8Array,
    console: { error: (...a) => errors.push(a.join(" ")), warn: () => {} },
    WebSocket: FakeSocket,
    timers: [],
    // the page's timers: recorded, fired by hand (the open check's would hold node for 10 s)
    setTimeout: (fn, ms) => (page.timers.push({ fn, ms }), page.timers.length),
    clearTimeout: () => {},
    __import: (url) => {
      imports.push(url);
      return page.importResult ?? Promise.resolve(pycomm);
    },
  };
  page.window = page;
  vm.createContext(page);
  return page;
}

/** Run the bootstrap as an output's first script, inside `output`. */
function run(page, kernel_id, output = null, element = "null", version = "v123") {
  const code = compact(template)
    .replace(PLACEHOLDER, `${JSON.stringify(kernel_id)}, ${JSON.stringify(version)}, ${element}`)
    .replace("import(src.href)", "__import(src.href)");
  page.document.currentScript = output ? new FakeElement(output) : null;
  vm.runInContext(code, page);
  page.document.currentScript = null;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("defines window.pycomm at once and loads the client once, from the base URL", async () => {
  const page = makePage({ configJson: JSON.stringify({ baseUrl: "/user/al/", wsUrl: "", token: "t" }) });
  const output = new FakeElement();
  run(page, "k1", output);
  assert.equal(typeof page.pycomm.new_comm, "function");
  assert.equal(page.pycomm.status, "connecting");
  assert.equal(output.getAttribute("data-pycomm-kernel"), "k1");
  run(page, "k2", new FakeElement());
  assert.deepEqual(page.imports, ["http://127.0.0.1:8888/user/al/comm-bridge/client/v123/pycomm.js"]);
  assert.deepEqual({ ...page.__pycomm_boot.config }, { baseUrl: "/user/al/", wsUrl: "", token: "t" });
});

test("classic pages: base URL from <body data-base-url>", () => {
  const page = makePage({ bodyData: { baseUrl: "/classic/", wsUrl: "ws://x/" } });
  run(page, "k1");
  assert.match(page.imports[0], /^http:\/\/127\.0\.0\.1:8888\/classic\/comm-bridge\/client\/v123\/pycomm\.js$/);
  assert.deepEqual({ ...page.__pycomm_boot.config }, { baseUrl: "/classic/", wsUrl: "ws://x/", token: "" });
});

test("classic pages: the URL-encoded base URL of a hub user is decoded", () => {
  const page = makePage({ bodyData: { baseUrl: "/user/a%40b.org/", wsUrl: "" } });
  run(page, "k1");
  assert.match(page.imports[0], /^http:\/\/127\.0\.0\.1:8888\/user\/a@b\.org\/comm-bridge\/client\/v123\/pycomm\.js$/);
});

test("calls made before the client loads are replayed in order, comms keep their ids", async () => {
  FakeSocket.instances.length = 0;
  const page = makePage({ configJson: "{}" });
  let release;
  page.importResult = new Promise((resolve) => (release = () => resolve(pycomm)));
  const output = new FakeElement();
  run(page, "k1", output);
  page.document.currentScript = new FakeElement(output); // the output's own script runs next
  const comm = page.pycomm.new_comm("t", { foo: 6 });
  comm.on_msg(() => {});
  comm.send({ foo: 7 });
  page.pycomm.register_target("kt", () => {});
  const info = page.pycomm.comm_info();
  const ready = page.pycomm.ready;
  page.document.currentScript = null;
  assert.match(comm.comm_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(comm.closed, false);
  release();
  await tick();
  const socket = FakeSocket.last();
  assert.match(socket.url, /\/comm-bridge\/kernels\/k1\/channels\?session_id=/);
  socket.open();
  await ready;
  const sent = socket.sent.map((m) => [m.header.msg_type, m.content.comm_id ?? m.content.target_name]);
  assert.deepEqual(sent.slice(0, 5), [
    ["comm_open", comm.comm_id],
    ["comm_info_request", "t"], // the client checks that the kernel opened it
    ["comm_msg", comm.comm_id],
    ["comm_info_request", undefined],
    ["register_target_request", "kt"],
  ]);
  socket.receive({
    channel: "shell",
    header: { msg_id: "r", msg_type: "comm_info_reply" },
    parent_header: socket.sent[3].header,
    metadata: {},
    content: { comms: {} },
    buffers: [],
  });
  assert.deepEqual(await info, {});
  comm.send("after load"); // the handed-out comm now forwards to the real one
  assert.equal(socket.sent.at(-1).content.data, "after load");
});

test("each output's scripts and event handlers talk to their own kernel", async () => {
  FakeSocket.instances.length = 0;
  const page = makePage({ configJson: "{}" });
  const a = new FakeElement();
  const b = new FakeElement();
  run(page, "ka", a);
  run(page, "kb", b);
  await tick();
  // a script running inside output a
  page.document.currentScript = new FakeElement(a);
  page.pycomm.send("t", 1);
  page.document.currentScript = null;
  // a click handler in output a, after output b rendered
  page.event = { target: new FakeElement(new FakeElement(a)) };
  page.pycomm.send("t", 2);
  page.event = undefined;
  // no script, no event (a timer, say): the last output rendered
  page.pycomm.send("t", 3);
  assert.equal(page.pycomm.kernel("ka").kernel_id, "ka");
  const urls = FakeSocket.instances.map((s) => s.url.match(/kernels\/(\w+)\//)[1]);
  assert.deepEqual(urls, ["ka", "kb"]);
  for (const s of FakeSocket.instances) s.open();
  const [sa, sb] = FakeSocket.instances;
  const data = (s) => s.sent.filter((m) => m.header.msg_type === "comm_msg").map((m) => m.content.data);
  assert.deepEqual(data(sa), [1, 2]);
  assert.deepEqual(data(sb), [3]);
});

test("JavaScript outputs bind through `element` (a jQuery object in the classic Notebook)", () => {
  const page = makePage({ configJson: "{}" });
  const el = new FakeElement();
  page.jqueryElement = { jquery: "3", 0: el };
  run(page, "kj", null, "jqueryElement");
  assert.equal(el.getAttribute("data-pycomm-kernel"), "kj");
});

test("a client that cannot load makes ready reject, with a console message", async () => {
  const page = makePage({ configJson: "{}" });
  page.importResult = Promise.reject(new Error("404"));
  run(page, "k1");
  await assert.rejects(page.pycomm.ready, /did not load/);
  assert.match(page.errors[0], /could not load the client/);
});

test("a hostile base URL in the page config stays a URL: nothing is injected or run", async () => {
  const hostile = "/a'b\"c</script><script>globalThis.pwned=1</script>\u2028\u2029/";
  FakeSocket.instances.length = 0;
  const page = makePage({ configJson: JSON.stringify({ baseUrl: hostile, token: "t'\"<" }) });
  run(page, "k1");
  page.pycomm.register_target("t", () => {});
  assert.equal(page.pwned, undefined);
  const url = new URL(page.imports[0]);
  assert.equal(url.origin, "http://127.0.0.1:8888");
  assert.ok(url.pathname.endsWith("/comm-bridge/client/v123/pycomm.js"), url.pathname);
  assert.ok(!page.imports[0].includes("<") && !page.imports[0].includes('"'), page.imports[0]);
  await tick();
  const socket = FakeSocket.last();
  assert.ok(!socket.url.includes("<") && !socket.url.includes("\u2028"), socket.url);
  assert.equal(new URL(socket.url).searchParams.get("token"), "t'\"<");
});

test("queued calls are {kernel_id, method, args, ...}; calls on handed-out comms have no kernel_id", () => {
  const page = makePage({ configJson: "{}" });
  page.importResult = new Promise(() => {}); // the client never loads here
  run(page, "k1", new FakeElement());
  const comm = page.pycomm.open("t", { a: 1 }, { metadata: { m: 1 } });
  comm.send(2);
  page.pycomm.kernel("k2").register_target("kt", () => {});
  page.pycomm.comm_info("t");
  const queue = [...page.__pycomm_boot.queue]; // (an Array of the page's realm: copied for deepEqual)
  assert.deepEqual(queue.map((e) => Object.keys(e).sort()), [
    ["args", "comm", "kernel_id", "method"],
    ["args", "comm", "method"],
    ["args", "kernel_id", "method"],
    ["args", "kernel_id", "method", "reject", "resolve"],
  ]);
  assert.deepEqual(queue.map((e) => [e.kernel_id, e.method]), [["k1", "open"], [undefined, "send"], ["k2", "register_target"], ["k1", "comm_info"]]);
  assert.equal(queue[0].comm, comm);
  assert.deepEqual([...queue[1].args], [2]);
});

test("the client's URL carries the version as a path segment, encoded", () => {
  const page = makePage({ configJson: JSON.stringify({ baseUrl: "/base" }) });
  run(page, "k1", null, "null", "1.0+a/b?c");
  assert.deepEqual(page.imports, ["http://127.0.0.1:8888/base/comm-bridge/client/1.0%2Ba%2Fb%3Fc/pycomm.js"]);
});

test("the template keeps the server's contract: one placeholder, nothing that ends a <script>", () => {
  const code = compact(template);
  assert.ok(code.endsWith(`})(${PLACEHOLDER});`), code.slice(-40));
  assert.ok(!code.includes("@ts-ignore")); // the line that makes tsc accept the placeholder is dropped
  const script = code.replace(PLACEHOLDER, '"k", "v", typeof element === "undefined" ? null : element');
  assert.doesNotThrow(() => new vm.Script(script));
});

test("display_widget is queued like the other calls, then shown by the client (or it says why)", async () => {
  FakeSocket.instances.length = 0;
  const page = makePage({ configJson: "{}" });
  let release;
  page.importResult = new Promise((resolve) => (release = () => resolve(pycomm)));
  const output = new FakeElement();
  run(page, "k1", output);
  const element = new FakeElement(output);
  page.document.currentScript = new FakeElement(output);
  assert.equal(page.pycomm.display_widget("model-1", element), undefined);
  page.document.currentScript = null;
  const queued = [...page.__pycomm_boot.queue].map((e) => [e.kernel_id, e.method, e.args[0], e.args[1]]);
  assert.deepEqual(queued, [["k1", "display_widget", "model-1", element]]);
  const errors = [];
  const saved = console.error;
  console.error = (...args) => errors.push(args.join(" "));
  try {
    release();
    await tick();
    await page.__pycomm_boot.impl.kernel("k1")._widgets?.catch(() => {});
    await tick();
  } finally {
    console.error = saved;
  }
  // node has no widgets.js beside the modules: the output says so, the console says why
  assert.match(element.textContent, /Widget not shown/);
  assert.match(errors.join("\n"), /widget model-1 not shown.*widgets\.js/);
});
