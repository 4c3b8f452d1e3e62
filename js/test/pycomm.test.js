import assert from "node:assert/strict";
import { test } from "node:test";

import { BACKOFF } from "../link.js";
import { Root, V1_PROTOCOL } from "../pycomm.js";
import { bridgeUrl, kernelApiUrl } from "../urls.js";
import { uuid } from "../util.js";
import { FakeSocket, fromKernel, makeConnection } from "./fake.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));
const bytes = (view) => Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));

test("bridge URLs follow the page: base URL, ws URL, https, token", () => {
  const loc = { href: "http://host:8888/user/alice/lab/tree/x.ipynb" };
  assert.equal(
    bridgeUrl({ baseUrl: "/user/alice/", token: "t0k" }, "abc", "s1", loc),
    "ws://host:8888/user/alice/comm-bridge/kernels/abc/channels?session_id=s1&resumable=1&buffer_frames=1&token=t0k",
  );
  assert.equal(
    bridgeUrl({ baseUrl: "/user/alice", token: "" }, "abc", "s1", { href: "https://hub.example/user/alice/lab" }),
    "wss://hub.example/user/alice/comm-bridge/kernels/abc/channels?session_id=s1&resumable=1&buffer_frames=1",
  );
  assert.equal(
    bridgeUrl({ baseUrl: "/", wsUrl: "wss://ws.example/base/" }, "abc", "s1", loc),
    "wss://ws.example/base/comm-bridge/kernels/abc/channels?session_id=s1&resumable=1&buffer_frames=1",
  );
  const hostile = bridgeUrl({ baseUrl: "/a\"b'</script>\u2028/" }, "../x?y", "s", loc);
  assert.ok(hostile.startsWith("ws://host:8888/a%22b'%3C/script%3E%E2%80%A8/comm-bridge/kernels/..%2Fx%3Fy/channels?"), hostile);
  assert.equal(kernelApiUrl({ baseUrl: "/b" }, "k", loc), "http://host:8888/b/api/kernels/k");
});

test("uuid() makes v4 UUIDs", () => {
  assert.match(uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("calls before the socket opens are queued, then sent in order after registrations", async () => {
  const { kernel, socket } = makeConnection();
  assert.deepEqual(socket.protocols, [V1_PROTOCOL]);
  assert.equal(kernel.status, "connecting");
  const comm = kernel.new_comm("t", { foo: 6 }, { m: 1 }, [new Uint8Array([1, 2, 3])]);
  comm.send({ foo: 7 });
  kernel.register_target("kt", () => {});
  socket.open();
  await kernel.ready;
  assert.equal(kernel.status, "connected");
  const kinds = socket.sent.map((m) => [m.channel, m.header.msg_type]);
  assert.deepEqual(kinds, [
    ["shell", "comm_open"],
    ["shell", "comm_msg"],
    ["bridge", "register_target_request"],
  ]);
  const [open, msg] = socket.sent;
  assert.deepEqual(open.content, { comm_id: comm.comm_id, target_name: "t", data: { foo: 6 } });
  assert.deepEqual(open.metadata, { m: 1 });
  assert.deepEqual(bytes(open.buffers[0]), [1, 2, 3]);
  assert.deepEqual(msg.content, { comm_id: comm.comm_id, data: { foo: 7 } });
  assert.equal(msg.header.session, kernel.session_id);
});

test("on_msg gets the whole message; falsy data is delivered as sent", async () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const comm = kernel.open("t", 0, { metadata: { x: 1 } });
  assert.deepEqual(socket.sent[0].content.data, 0);
  const got = [];
  comm.on_msg((msg) => got.push(msg));
  for (const data of [0, "", false, null, { deep: [null] }]) {
    socket.receive(fromKernel("iopub", "comm_msg", { comm_id: comm.comm_id, data }, { buffers: [new Uint8Array([5])] }));
  }
  assert.deepEqual(got.map((m) => m.content.data), [0, "", false, null, { deep: [null] }]);
  assert.ok(got[0].header && got[0].parent_header && got[0].metadata);
  assert.ok(got[0].buffers[0] instanceof DataView);
  for (const data of [0, "", false, null]) comm.send(data);
  assert.deepEqual(socket.sent.slice(1).map((m) => m.content.data), [0, "", false, null]);
});

test("kernel-opened comms go to the registered target, replies go to the kernel", () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const opened = [];
  kernel.register_target("kt", (comm, msg) => {
    opened.push([comm.comm_id, comm.target_name, msg.content.data]);
    comm.on_msg((m) => comm.send({ echo: m.content.data }));
  });
  assert.deepEqual(socket.sent.at(-1).content, { target_name: "kt" });
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "c9", target_name: "kt", data: { foo: 1 } }));
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "c9", data: { foo: 2 } }));
  assert.deepEqual(opened, [["c9", "kt", { foo: 1 }]]);
  assert.deepEqual(socket.sent.at(-1).content, { comm_id: "c9", data: { echo: { foo: 2 } } });
  kernel.unregister_target("kt");
  assert.equal(socket.sent.at(-1).header.msg_type, "unregister_target_request");
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "c10", target_name: "kt", data: {} }));
  assert.deepEqual(socket.sent.at(-1).content, { comm_id: "c10", data: {} }); // refused: closed
});

test("send() and on() one-liners share one comm per target", () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const seen = [];
  const off = kernel.on("t", (data, msg) => seen.push([data, msg.header.msg_type]));
  kernel.send("t", { a: 1 });
  kernel.send("t", { a: 2 }, { buffers: [new Float32Array([1])] });
  const types = socket.sent.map((m) => m.header.msg_type);
  assert.deepEqual(types, ["register_target_request", "comm_open", "comm_msg", "comm_msg"]);
  const comm_id = socket.sent[1].content.comm_id;
  assert.equal(socket.sent[3].content.comm_id, comm_id);
  assert.equal(socket.sent[3].buffers[0].byteLength, 4);
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id, data: "back" }));
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "k1", target_name: "t", data: "opened" }));
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "k1", data: "on kernel comm" }));
  assert.deepEqual(seen, [["back", "comm_msg"], ["opened", "comm_open"], ["on kernel comm", "comm_msg"]]);
  off();
  assert.equal(socket.sent.at(-1).header.msg_type, "unregister_target_request");
  // a closed shared comm is replaced on the next send
  socket.receive(fromKernel("iopub", "comm_close", { comm_id, data: {} }));
  kernel.send("t", 3);
  assert.equal(socket.sent.at(-2).header.msg_type, "comm_open");
  assert.notEqual(socket.sent.at(-2).content.comm_id, comm_id);
});

test("close() tells the kernel and calls on_close; a closed comm refuses to send", () => {
  const { kernel, socket } = makeConnection();
  socket.open();
  const comm = kernel.new_comm("t");
  const closes = [];
  comm.on_close((msg) => closes.push(msg.content));
  comm.close({ bye: true });
  comm.close();
  assert.deepEqual(closes, [{ comm_id: comm.comm_id, data: { bye: true } }]);
  assert.equal(socket.sent.filter((m) => m.header.msg_type === "comm_close").length, 1);
  assert.throws(() => comm.send(1), /closed/);
  const other = kernel.new_comm("t");
  let closedBy;
  other.on_close((msg) => (closedBy = msg.content.data));
  socket.receive(fromKernel("iopub", "comm_close", { comm_id: other.comm_id, data: { why: "kernel" } }));
  assert.deepEqual(closedBy, { why: "kernel" });
});

test("comm_info resolves with the listed comms; bridge errors reject or are logged", async () => {
  const { kernel, socket, log } = makeConnection();
  socket.open();
  const info = kernel.comm_info("t");
  const request = socket.sent.at(-1);
  assert.deepEqual([request.channel, request.header.msg_type, request.content], ["shell", "comm_info_request", { target_name: "t" }]);
  socket.receive(fromKernel("shell", "comm_info_reply", { status: "ok", comms: { c1: { target_name: "t" } } }, { parent: request.header }));
  assert.deepEqual(await info, { c1: { target_name: "t" } });
  const refused = kernel.comm_info();
  socket.receive(fromKernel("bridge", "bridge_error", { ename: "MessageRefused", evalue: "no" }, { parent: socket.sent.at(-1).header }));
  await assert.rejects(refused, /MessageRefused: no/);
  const comm = kernel.new_comm("t");
  let reason;
  comm.on_close((msg) => (reason = msg.metadata.reason));
  socket.receive(fromKernel("bridge", "bridge_error", { ename: "CommExists", evalue: "taken", msg_type: "comm_open", comm_id: comm.comm_id }, { parent: socket.sent.at(-1).header }));
  assert.equal(reason, "taken");
  assert.match(log.lines.error.at(-1), /refused comm_open: CommExists: taken/);
});

test("a message that crossed the kernel's close of its comm is refused without an error", () => {
  const { kernel, socket, log } = makeConnection();
  socket.open();
  const comm = kernel.new_comm("t");
  const sent = socket.sent.at(-1).header;
  comm.send({ late: true });
  const late = socket.sent.at(-1).header;
  socket.receive(fromKernel("iopub", "comm_close", { comm_id: comm.comm_id, data: {} }, { parent: sent }));
  socket.receive(fromKernel("bridge", "bridge_error", { ename: "UnknownComm", evalue: "not open", msg_type: "comm_msg", comm_id: comm.comm_id }, { parent: late }));
  assert.deepEqual(log.lines.error, []);
  assert.match(log.lines.warn.at(-1), /comm_msg crossed the kernel's close/);
  // a comm the kernel never closed: still an error
  socket.receive(fromKernel("bridge", "bridge_error", { ename: "UnknownComm", evalue: "not open", msg_type: "comm_msg", comm_id: "other" }, { parent: late }));
  assert.match(log.lines.error.at(-1), /refused comm_msg: UnknownComm/);
});

test("errors thrown by user callbacks are logged and do not break the connection", () => {
  const { kernel, socket, log } = makeConnection();
  socket.open();
  const comm = kernel.new_comm("t");
  const got = [];
  comm.on_msg((msg) => {
    got.push(msg.content.data);
    throw new Error("user bug");
  });
  kernel.register_target("kt", () => {
    throw new Error("target bug");
  });
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: comm.comm_id, data: 1 }));
  socket.receive(fromKernel("iopub", "comm_open", { comm_id: "k", target_name: "kt", data: {} }));
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: comm.comm_id, data: 2 }));
  socket.onmessage({ data: new Uint8Array([1, 2, 3]).buffer });
  assert.deepEqual(got, [1, 2]);
  assert.equal(log.lines.error.length, 4);
  assert.match(log.lines.error[0], /on_msg of comm .*user bug/);
  assert.match(log.lines.error[1], /target kt.*target bug/);
});

test("status changes are reported", () => {
  const { kernel, socket } = makeConnection();
  const statuses = [];
  kernel.on_status((s) => statuses.push(s));
  socket.open(false);
  assert.equal(kernel.status, "connecting"); // open, but not attached yet
  socket.hello();
  socket.close(1006, "");
  assert.deepEqual(statuses, ["connected", "disconnected"]);
});

test("a dropped connection resumes its client: nothing lost, nothing duplicated", () => {
  const { kernel, socket, timers } = makeConnection();
  socket.open();
  const comm = kernel.new_comm("t");
  const got = [];
  comm.on_msg((m) => got.push(m.content.data));
  for (const data of [1, 2, 3]) socket.receive(fromKernel("iopub", "comm_msg", { comm_id: comm.comm_id, data }));
  comm.send("a");
  comm.send("b");
  socket.receive(fromKernel("bridge", "bridge_ack", { received: 1 })); // the server has the comm_open
  socket.close(1006, "");
  assert.equal(comm.closed, false);
  comm.send("c"); // while away: queued
  timers.find((t) => t.ms === BACKOFF[0]).fn();
  const again = FakeSocket.last();
  assert.match(again.url, /[?&]resume=3(&|$)/);
  again.open({ resumed: true, received: 2 }); // it got the open and "a"
  assert.deepEqual(again.counted.map((m) => m.content.data), ["b", "c"]);
  again.receive(fromKernel("iopub", "comm_msg", { comm_id: comm.comm_id, data: 4 }));
  assert.deepEqual(got, [1, 2, 3, 4]);
  assert.equal(kernel.status, "connected");
});

test("a client the server lost: comms open at the drop close, newer ones go out", () => {
  const { kernel, socket, timers } = makeConnection();
  socket.open();
  kernel.register_target("kt", () => {});
  const old = kernel.new_comm("t");
  let reason;
  old.on_close((m) => (reason = m.metadata.reason));
  socket.close(4008, "the client is not reading");
  const fresh = kernel.new_comm("t", { made: "while away" });
  timers.find((t) => t.ms === BACKOFF[0]).fn();
  const again = FakeSocket.last();
  again.open({ resumed: false, reason: "no such client" });
  assert.equal(reason, "the client is not reading");
  assert.equal(fresh.closed, false);
  const sent = again.counted.map((m) => [m.header.msg_type, m.content.comm_id ?? m.content.target_name]);
  assert.deepEqual(sent, [["comm_open", fresh.comm_id], ["register_target_request", "kt"]]);
  assert.throws(() => old.send(1), /closed/);
});

test("past the reconnect window the comms close, with the reason", () => {
  const { kernel, socket, timers } = makeConnection();
  socket.open({ reconnect_window: 5 });
  const comm = kernel.new_comm("t");
  let reason;
  comm.on_close((m) => (reason = m.metadata.reason));
  const info = kernel.comm_info();
  socket.close(1006, "");
  const windowTimer = timers.find((t) => t.ms === 5000);
  assert.ok(windowTimer);
  windowTimer.fn();
  assert.match(reason, /longer than the 5s reconnect window/);
  return assert.rejects(info, /reconnect window/);
});

test("a silent server is noticed (heartbeat watchdog), and the client reconnects", () => {
  const { kernel, socket, timers, tick } = makeConnection();
  socket.open({ heartbeat: 2 });
  tick(5000);
  assert.equal(kernel.status, "connected");
  tick(1500); // 6.5 s without a frame
  assert.equal(kernel.status, "disconnected");
  assert.ok(timers.some((t) => t.ms === BACKOFF[0]));
});

test("a handshake that never completes is abandoned", () => {
  const { kernel, timers, tick } = makeConnection();
  tick(11000);
  assert.equal(kernel.status, "disconnected");
  return new Promise((resolve) => setImmediate(resolve)).then(() =>
    assert.ok(timers.some((t) => t.ms === BACKOFF[0])),
  );
});

test("received frames are acknowledged every 64 frames and on the watchdog tick", () => {
  const { kernel, socket, tick } = makeConnection();
  socket.open();
  const comm = kernel.new_comm("t");
  for (let i = 0; i < 65; i++) socket.receive(fromKernel("iopub", "comm_msg", { comm_id: comm.comm_id, data: i }));
  const acks = () => socket.sent.filter((m) => m.header.msg_type === "bridge_ack").map((m) => m.content.received);
  assert.deepEqual(acks(), [64]);
  tick(1000);
  assert.deepEqual(acks(), [64, 65]);
  tick(1000);
  assert.deepEqual(acks(), [64, 65]); // nothing new to acknowledge
});

test("an unknown kernel ends disconnected with a clear message, and no retries", async () => {
  const { kernel, socket, log, timers } = makeConnection({ fetchStatus: 404 });
  const comm = kernel.new_comm("t");
  socket.close(1006, "");
  await assert.rejects(kernel.ready, /does not exist/);
  assert.equal(kernel.status, "disconnected");
  assert.equal(timers.length, 0);
  assert.match(log.lines.error.at(-1), /kernel k-1 does not exist.*not reconnecting/);
  assert.equal(comm.closed, true);
});

test("a shut-down kernel (close code 4004) is final", async () => {
  const { kernel, socket, timers } = makeConnection();
  socket.open();
  socket.close(4004, "the kernel was shut down");
  await flush();
  assert.equal(kernel.status, "disconnected");
  assert.equal(timers.length, 0);
});

test("Root makes one connection, and one socket, per kernel", () => {
  FakeSocket.instances.length = 0;
  const root = new Root({ config: { baseUrl: "/" }, WebSocket: FakeSocket, location: { href: "http://h/" } });
  const a = root.kernel("a");
  assert.equal(root.kernel("a"), a);
  root.kernel("b");
  assert.equal(FakeSocket.instances.length, 2);
  assert.match(FakeSocket.instances[1].url, /kernels\/b\/channels/);
});

test("a page-opened comm is confirmed with comm_info: opened resolves", async () => {
  const { kernel, socket } = makeConnection({ open_check: 10000 });
  socket.open();
  const comm = kernel.new_comm("t");
  const check = socket.sent.at(-1);
  assert.deepEqual([check.header.msg_type, check.content], ["comm_info_request", { target_name: "t" }]);
  socket.receive(fromKernel("shell", "comm_info_reply", { status: "ok", comms: { [comm.comm_id]: { target_name: "t" } } }, { parent: check.header }));
  await comm.opened;
  assert.equal(comm.closed, false);
});

test("a comm the kernel did not open closes with the reason, and opened rejects", async () => {
  const { kernel, socket, log } = makeConnection({ open_check: 10000 });
  socket.open();
  const comm = kernel.new_comm("nobody");
  let reason;
  comm.on_close((msg) => (reason = msg.metadata.reason));
  socket.receive(fromKernel("shell", "comm_info_reply", { status: "ok", comms: {} }, { parent: socket.sent.at(-1).header }));
  await assert.rejects(comm.opened, /no target "nobody"/);
  assert.match(reason, /does not support comms opened from the page/);
  assert.equal(comm.closed, true);
  assert.deepEqual([socket.sent.at(-1).header.msg_type, socket.sent.at(-1).content.comm_id], ["comm_close", comm.comm_id]);
  assert.match(log.lines.warn.at(-1), /did not open the comm/);
});

test("no answer to the check: opened rejects after open_check ms, the comm stays usable", async () => {
  const { kernel, socket, timers } = makeConnection({ open_check: 10000 });
  socket.open();
  const comm = kernel.new_comm("t");
  const timer = timers.find((t) => t.ms === 10000 && !t.cancelled);
  timer.fn();
  await assert.rejects(comm.opened, /did not confirm .* within 10s: it is busy, or it does not support comms/);
  assert.equal(comm.closed, false);
  comm.send(1);
  assert.equal(socket.sent.at(-1).header.msg_type, "comm_msg");
});
