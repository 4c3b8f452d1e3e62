// The classic Notebook's `Jupyter` object over a KernelConnection (js/classic.js); the DOM
// parts (get_cells, output areas) are exercised in real pages (tests/browser).
import assert from "node:assert/strict";
import { test } from "node:test";

import { keyboard_manager } from "../classic.js";
import { fromKernel, makeConnection } from "./fake.js";

/** Run the fallback timer that gives the page time to render before a kernel-opened comm. */
const rendered = (timers) => {
  for (const timer of timers.splice(0)) if (!timer.cancelled && timer.ms === 100) timer.fn();
};

test("the seed snippet, kernel-opened: register_target, then the callback gets the classic comm", async () => {
  const { kernel, socket, timers } = makeConnection();
  socket.open();
  const Jupyter = await kernel.classic(null);
  const got = [];
  Jupyter.notebook.kernel.comm_manager.register_target("my_comm_target", function (comm, msg) {
    got.push(["open", msg.content.data, comm.kernel === Jupyter.notebook.kernel]);
    comm.on_msg(function (msg) { got.push(["msg", msg.content.data]); });
    comm.on_close(function (msg) { got.push(["close", msg.content.comm_id]); });
    comm.send({ foo: 0 });
  });
  assert.deepEqual(socket.sent.at(-1).content, { target_name: "my_comm_target" });
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "c1", target_name: "my_comm_target", data: { id: "fig" } }));
  // what comes before the callback has run is held for it, in order
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "c1", data: { n: 1 } }));
  assert.deepEqual(got, []);
  rendered(timers);
  assert.deepEqual(got, [["open", { id: "fig" }, true], ["msg", { n: 1 }]]);
  assert.deepEqual(socket.sent.at(-1).content, { comm_id: "c1", data: { foo: 0 } });
  socket.receive(fromKernel("iopub", "comm_close", { comm_id: "c1", data: {} }));
  assert.deepEqual(got.at(-1), ["close", "c1"]);
});

test("a comm the kernel closed before the callback ran: the callback gets the close too", async () => {
  const { kernel, socket, timers, log } = makeConnection();
  socket.open();
  const { notebook } = await kernel.classic(null);
  const got = [];
  notebook.kernel.comm_manager.register_target("t", (comm) => comm.on_close(() => got.push("closed")));
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "c2", target_name: "t", data: {} }));
  socket.receive(fromKernel("iopub", "comm_close", { comm_id: "c2", data: {} }));
  rendered(timers);
  assert.deepEqual(got, ["closed"]);
  assert.deepEqual(log.lines.error, []);
});

test("the seed snippet, page-opened: new_comm with the classic signature; IPython is the same object", async () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const IPython = await kernel.classic(null);
  const comm = IPython.notebook.kernel.comm_manager.new_comm("my_comm_target", { foo: 6 }, undefined, { m: 1 }, "given-id");
  const open = socket.sent.at(-1);
  assert.equal(open.header.msg_type, "comm_open");
  assert.deepEqual(open.content, { comm_id: "given-id", target_name: "my_comm_target", data: { foo: 6 } });
  assert.deepEqual(open.metadata, { m: 1 });
  const statuses = [];
  const msg_id = comm.send("a string", { iopub: { status: (m) => statuses.push(m.content.execution_state) } });
  assert.equal(socket.sent.at(-1).header.msg_id, msg_id);
  assert.deepEqual(socket.sent.at(-1).content, { comm_id: "given-id", data: "a string" });
  const got = [];
  comm.on_msg((msg) => got.push(msg.content.data));
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "given-id", data: { foo: 7 } }));
  assert.deepEqual(got, [{ foo: 7 }]);
  comm.close();
  assert.equal(socket.sent.at(-1).header.msg_type, "comm_close");
  comm.close(); // closing twice is no error, and sends nothing more
  assert.equal(socket.sent.filter((m) => m.header.msg_type === "comm_close").length, 1);
});

test("comm.kernel.ws: binaryType, readyState and open/close events follow the connection", async () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const ws = (await kernel.classic(null)).notebook.kernel.ws;
  assert.equal(ws.binaryType, "arraybuffer");
  assert.equal(ws.readyState, 1);
  const events = [];
  ws.addEventListener("open", () => events.push(["open", ws.readyState]));
  ws.addEventListener("close", () => events.push(["close", ws.readyState]));
  kernel._set_status("disconnected");
  kernel._set_status("connecting");
  kernel._set_status("connected");
  assert.deepEqual(events, [["close", 3], ["open", 1]]);
  // one kernel object per connection: every output's comms share it
  assert.equal((await kernel.classic(null)).notebook.kernel.ws, ws);
});

test("what the page cannot do is a no-op or a clear error, never a TypeError", async () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const { notebook } = await kernel.classic(null);
  assert.deepEqual(notebook.get_cells(), []); // (no page here)
  assert.equal(notebook.find_cell_index({}), -1);
  notebook.set_dirty(true);
  assert.equal(notebook.select(3), notebook);
  assert.equal(notebook.keyboard_manager, keyboard_manager);
  keyboard_manager.enable();
  assert.throws(() => notebook.kernel.execute("1"), /carries comms only/);
  assert.throws(() => notebook.kernel.comm_manager.register_target("t", "module/name"), /needs a function/);
  const attributes = {};
  const el = { setAttribute: (k, v) => (attributes[k] = v) };
  keyboard_manager.register_events([el]); // a jQuery list, or the element itself
  assert.deepEqual(attributes, { "data-lm-suppress-shortcuts": "true" });
});

test("on a classic Notebook page, the page's own Jupyter object is given", async () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const page = { notebook: { kernel: { comm_manager: {} } } };
  globalThis.Jupyter = page;
  try {
    assert.equal(await kernel.classic(null), page);
  } finally {
    delete globalThis.Jupyter;
  }
});
