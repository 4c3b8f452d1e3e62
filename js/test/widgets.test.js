// What the widget manager (js/widgets/) gets of a connection, its WidgetHost: adopted comms,
// the kernel's status of our messages, output capture; and display_widget's loading and failures.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_STATUS_HOOKS } from "../parent_routes.js";
import { loadWidgets } from "../pycomm.js";
import { fromKernel, makeConnection } from "./fake.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));
const types = (socket) => socket.counted.map((m) => m.header.msg_type);
const status = (msg_id, execution_state) =>
  fromKernel("iopub", "status", { execution_state }, { parent: { msg_id } });

test("widget_host: one per connection, with what the widget manager uses", () => {
  const { kernel } = makeConnection();
  const host = kernel.widget_host();
  assert.equal(kernel.widget_host(), host);
  assert.equal(host.ready, kernel.ready);
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(host)).filter((n) => n !== "constructor");
  assert.deepEqual(methods.sort(), [
    "adopt", "capture", "comm_info", "open_comm", "register_target", "release", "server_get", "server_url", "watch_status",
  ]);
  assert.equal(host.kernel_id, "k-1");
});

test("widget_host: server URLs under the page's base URL, GETs with the page's token and cookie", async () => {
  const asked = [];
  const { kernel } = makeConnection({ config: { baseUrl: "/user/a/", token: "t0k" }, href: "https://hub.example/user/a/lab" });
  kernel.options.fetch = async (url, init) => (asked.push([url, init]), { status: 200, ok: true });
  const host = kernel.widget_host();
  const path = "comm-bridge/widgets/kernels/k-1/modules/%40scope%2Fname?version=%5E1";
  assert.equal(host.server_url(path), `https://hub.example/user/a/${path}`);
  assert.equal(host.server_url("/api/x"), "https://hub.example/user/a/api/x");
  assert.throws(() => host.server_url("//evil.example/x"), /is not on the server/);
  assert.throws(() => host.server_url("https://evil.example/x"), /is not on the server/);
  assert.equal((await host.server_get(path)).status, 200);
  assert.equal(asked[0][0], `https://hub.example/user/a/${path}`);
  assert.deepEqual(asked[0][1].headers, { Authorization: "token t0k" });
  assert.equal(asked[0][1].credentials, "same-origin");
  // logged in by cookie: no token, no header
  const cookie = makeConnection({ config: { token: "" } }).kernel;
  cookie.options.fetch = async (url, init) => (asked.push([url, init]), { status: 404, ok: false });
  assert.equal((await cookie.widget_host().server_get("x")).status, 404);
  assert.deepEqual(asked[1][1].headers, {});
});

test("adopt: a Comm for a comm the kernel has open, without a comm_open; one per comm_id", async () => {
  const { kernel, socket } = makeConnection({ open_check: 10 });
  socket.open();
  const comm = kernel.widget_host().adopt("w1", "jupyter.widget");
  await comm.opened; // no open check: the kernel has it
  assert.deepEqual(types(socket), []);
  assert.equal(kernel.widget_host().adopt("w1", "jupyter.widget"), comm);
  const got = [];
  comm.on_msg((msg) => got.push(msg.content.data));
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "w1", data: { method: "update" } }));
  assert.deepEqual(got, [{ method: "update" }]);
  comm.send({ method: "update", state: { value: 3 } });
  assert.deepEqual(socket.counted.at(-1).content, { comm_id: "w1", data: { method: "update", state: { value: 3 } } });
});

test("a comm_open for an adopted comm reaches the target with the same Comm", () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const opened = [];
  kernel.register_target("jupyter.widget", (comm) => opened.push(comm));
  const adopted = kernel.widget_host().adopt("w2", "jupyter.widget");
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "w2", target_name: "jupyter.widget", data: {} }));
  assert.deepEqual(opened, [adopted]);
  // even when the target is gone meanwhile, an adopted comm is not refused
  kernel.unregister_target("jupyter.widget");
  kernel.widget_host().adopt("w3", "jupyter.widget");
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "w3", target_name: "jupyter.widget", data: {} }));
  assert.ok(!types(socket).includes("comm_close"), types(socket).join());
});

test("watch_status asks our client on the server once, and a new client again (not on a resume)", () => {
  const { kernel, socket, timers } = makeConnection();
  kernel.widget_host().watch_status(); // before attaching: sent once attached
  socket.open();
  kernel.widget_host().watch_status();
  const watches = (s) => s.counted.filter((m) => m.header.msg_type === "watch_status_request");
  assert.equal(watches(socket).length, 1);
  assert.equal(watches(socket)[0].channel, "bridge");
  assert.deepEqual(watches(socket)[0].content, {});
  socket.close(1006);
  timers.at(-1).fn(); // reconnect
  const resumed = makeSocketAfter(socket);
  resumed.open({ resumed: true, received: 1 });
  assert.equal(watches(resumed).length, 0);
  resumed.close(1006);
  timers.filter((t) => t.ms !== 30000).at(-1).fn();
  const fresh = makeSocketAfter(resumed);
  fresh.open({ resumed: false });
  assert.equal(watches(fresh).length, 1);
  assert.ok(kernel.status === "connected");
});

/** The socket the connection opened after `socket`. */
function makeSocketAfter(socket) {
  const all = socket.constructor.instances;
  return all[all.indexOf(socket) + 1];
}

test("status callbacks get busy and idle of their own message; statuses disturb nothing else", async () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  kernel.widget_host().watch_status();
  const comm = kernel.widget_host().adopt("w4", "jupyter.widget");
  const msgs = [];
  comm.on_msg((msg) => msgs.push(msg));
  const seen = [];
  const msg_id = comm._send({ method: "update" }, {}, [], (msg) => seen.push(msg.content.execution_state));
  assert.equal(socket.counted.at(-1).header.msg_id, msg_id);
  socket.receive(status("someone-else", "busy"));
  socket.receive(status(msg_id, "busy"));
  socket.receive(status(msg_id, "idle"));
  socket.receive(status(msg_id, "idle")); // the hook is gone after the first idle
  await flush();
  assert.deepEqual(seen, ["busy", "idle"]);
  assert.deepEqual(msgs, []);
  assert.equal(kernel._routes.hooks.size, 0);
  assert.equal(comm.send({ plain: 1 }), socket.counted.at(-1).header.msg_id); // the public send is unchanged
});

test("without a status watch, a status callback gets an idle made here, after send returns", async () => {
  const { kernel, socket, log } = makeConnection();
  socket.open();
  const comm = kernel.widget_host().adopt("w5", "jupyter.widget");
  const seen = [];
  const msg_id = comm._send({}, {}, [], (msg) => seen.push([msg.parent_header.msg_id, msg.content.execution_state, msg.metadata.reason]));
  assert.deepEqual(seen, []); // not before the caller has the msg_id (ipywidgets counts it after send)
  await flush();
  assert.deepEqual(seen, [[msg_id, "idle", "no kernel status for it"]]);
  // a server that refuses the request: everything waiting is let go, later ones too
  kernel.widget_host().watch_status();
  const watch = socket.counted.at(-1);
  const later = [];
  comm._send({}, {}, [], (msg) => later.push(msg.content.execution_state));
  socket.receive(fromKernel("bridge", "bridge_error", { status: "error", ename: "MessageRefused", evalue: "no", msg_type: "watch_status_request" }, { parent: watch.header }));
  assert.deepEqual(later, ["idle"]);
  comm._send({}, {}, [], (msg) => later.push(msg.content.execution_state));
  await flush();
  assert.deepEqual(later, ["idle", "idle"]);
  assert.match(log.lines.warn.join("\n"), /no kernel status from the server/);
  assert.equal(log.lines.error.length, 0);
});

test("a lost client lets every waiting status callback go, with the reason", async () => {
  const { kernel, socket, timers } = makeConnection();
  socket.open();
  kernel.widget_host().watch_status();
  const comm = kernel.widget_host().adopt("w6", "jupyter.widget");
  const seen = [];
  comm._send({}, {}, [], (msg) => seen.push(msg.metadata.reason));
  socket.close(1006);
  timers.find((t) => t.ms === 30000).fn(); // the reconnect window passes
  assert.equal(seen.length, 1);
  assert.match(seen[0], /reconnect window/);
  assert.equal(kernel._routes.hooks.size, 0);
});

test("status callbacks are bounded: past the bound the oldest gets an idle made here", () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  kernel.widget_host().watch_status();
  const comm = kernel.widget_host().adopt("w7", "jupyter.widget");
  let settled = 0;
  for (let i = 0; i <= MAX_STATUS_HOOKS; i++) comm._send({}, {}, [], () => settled++);
  assert.equal(settled, 1);
  assert.equal(kernel._routes.hooks.size, MAX_STATUS_HOOKS);
});

test("capture: iopub messages without comm_id whose parent is captured go to the last handler", () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const outer = [];
  const inner = [];
  const h1 = (msg) => outer.push(msg.content.text);
  const h2 = (msg) => inner.push(msg.content.text);
  const stream = (parent, text) => fromKernel("iopub", "stream", { name: "stdout", text }, { parent: { msg_id: parent } });
  socket.receive(stream("x", "before"));
  kernel.widget_host().capture("x", h1);
  socket.receive(stream("x", "a"));
  socket.receive(stream("y", "other"));
  kernel.widget_host().capture("x", h2); // a nested Output widget: it gets them while it captures
  socket.receive(stream("x", "b"));
  kernel.widget_host().release("x", h2);
  socket.receive(stream("x", "c"));
  kernel.widget_host().release("x");
  socket.receive(stream("x", "d"));
  assert.deepEqual(outer, ["a", "c"]);
  assert.deepEqual(inner, ["b"]);
  // a comm message with the same parent is still the comm's
  const comm = kernel.widget_host().adopt("w8", "jupyter.widget");
  const got = [];
  comm.on_msg((msg) => got.push(msg.content.data));
  kernel.widget_host().capture("x", h1);
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "w8", data: 1 }, { parent: { msg_id: "x" } }));
  assert.deepEqual(got, [1]);
});

test("display_widget loads one widget manager per connection and hands it the element", async () => {
  const calls = [];
  let loads = 0;
  const manager = { display_widget: async (model_id, element) => calls.push([model_id, element]) };
  const { kernel } = makeConnection();
  kernel.options.widgets = async (connection) => {
    assert.equal(connection, kernel);
    loads++;
    return manager;
  };
  const a = {};
  const b = {};
  await Promise.all([kernel.display_widget("m1", a), kernel.display_widget("m1", b)]);
  await kernel.display_widget("m2", a);
  assert.equal(loads, 1);
  assert.deepEqual(calls, [["m1", a], ["m1", b], ["m2", a]]);
});

test("display_widget never throws into the page: the element says why, the console logs it", async () => {
  const { kernel, log } = makeConnection();
  kernel.options.widgets = () => Promise.reject(new Error("404 widgets.js"));
  const element = { textContent: "" };
  await kernel.display_widget("m1", element); // resolves
  assert.match(element.textContent, /Widget not shown: the widget code could not be loaded/);
  assert.match(log.lines.error.join("\n"), /widget m1 not shown.*404 widgets\.js/);
  const failing = { display_widget: async () => Promise.reject(new Error("boom")) };
  const other = makeConnection();
  other.kernel.options.widgets = async () => failing;
  await other.kernel.display_widget("m2", element);
  assert.match(other.log.lines.error.join("\n"), /widget m2 not shown/);
});

test("loadWidgets imports widgets.js beside the client's modules, and says so when it cannot", async () => {
  const { kernel } = makeConnection();
  // in a checkout, js/widgets.js is not there (the server serves the bundle under that name)
  await assert.rejects(loadWidgets(kernel), /could not load the widget code from file:.*\/js\/widgets\.js/);
});

test("a message the bridge refuses does not wait for its status", () => {
  const { kernel, socket, log } = makeConnection();
  socket.open();
  kernel.widget_host().watch_status();
  const comm = kernel.widget_host().adopt("w9", "jupyter.widget");
  const seen = [];
  comm._send({ method: "update" }, {}, [], (msg) => seen.push([msg.content.execution_state, msg.metadata.reason]));
  const sent = socket.counted.at(-1);
  socket.receive(fromKernel("bridge", "bridge_error", { status: "error", ename: "UnknownComm", evalue: "comm w9 is not open", msg_type: "comm_msg", comm_id: "w9" }, { parent: sent.header }));
  assert.deepEqual(seen, [["idle", "comm w9 is not open"]]);
  assert.match(log.lines.error.join("\n"), /UnknownComm/);
});
