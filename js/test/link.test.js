// BridgeLink on its own, through its callback interface (LinkEvents): what a
// KernelConnection sees of the websocket and the resume layer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BACKOFF, BridgeLink, SPARE_MIN } from "../link.js";
import { V1_PROTOCOL } from "../protocol.js";
import { encode, message } from "../wire.js";
import { FakeSocket, fakeOptions, fromKernel } from "./fake.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** LinkEvents that record what the link reports; `open` is what open_comm_ids() answers. */
function recording({ open = [], exists = true } = {}) {
  const seen = [];
  const asked = [];
  const events = {
    on_status: (status) => seen.push(["status", status]),
    on_attached: (resumed) => seen.push(["up", resumed]),
    on_client_lost: (why, comm_ids) => seen.push(["lost", why, comm_ids && [...comm_ids]]),
    on_given_up: (why) => seen.push(["given_up", why]),
    on_message: (msg) => seen.push(["message", msg.header.msg_type, msg.content.data]),
    open_comm_ids: () => (asked.push("open_comm_ids"), new Set(open)),
    kernel_exists: async () => (asked.push("kernel_exists"), exists),
  };
  return { events, seen, asked };
}

function makeLink(settings) {
  const fake = fakeOptions();
  const record = recording(settings);
  const link = new BridgeLink("k-1", record.events, fake.options);
  link.connect();
  const frame = (msg_type, content) => encode(message(link.session_id, "shell", msg_type, content));
  return { link, socket: FakeSocket.last(), frame, ...record, ...fake };
}

test("the link reports status, attaching and messages; control frames are its own", () => {
  const { link, socket, frame, seen } = makeLink();
  assert.deepEqual(socket.protocols, [V1_PROTOCOL]);
  assert.match(socket.url, /\/comm-bridge\/kernels\/k-1\/channels\?session_id=[^&]+&resumable=1&buffer_frames=1&token=tok$/);
  assert.equal(link.send(frame("comm_open", { comm_id: "c1", target_name: "t", data: {} }), "c1"), true);
  assert.deepEqual(socket.sent, []); // waits until attached
  socket.open();
  assert.deepEqual(seen, [["status", "connecting"], ["up", false]]);
  assert.deepEqual(socket.sent.map((m) => m.header.msg_type), ["comm_open"]);
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "c1", data: 1 }));
  socket.receive(fromKernel("bridge", "bridge_ack", { received: 1 }));
  assert.deepEqual(seen.at(-1), ["message", "comm_msg", 1]);
  assert.equal(seen.length, 3); // neither the hello nor the ack is reported
  assert.deepEqual([link.received, link.unacked.length], [1, 0]);
  const acks = socket.sent.filter((m) => m.header.msg_type === "bridge_ack");
  assert.equal(acks.length, 0); // acknowledged on the watchdog tick, or every ACK_EVERY frames
});

test("a lost client is reported with the comms open at the drop; comms opened since go out", () => {
  const { link, socket, frame, seen, timers, asked } = makeLink({ open: ["c1"] });
  socket.open();
  link.send(frame("comm_open", { comm_id: "c1", target_name: "t", data: {} }), "c1");
  socket.close(1006, "");
  assert.deepEqual(seen.at(-1), ["status", "disconnected"]);
  assert.deepEqual(asked, ["open_comm_ids"]); // at the drop
  link.send(frame("comm_open", { comm_id: "c2", target_name: "t", data: {} }), "c2");
  timers.find((t) => t.ms === BACKOFF[0]).fn();
  const again = FakeSocket.last();
  assert.match(again.url, /[?&]resume=0(&|$)/);
  link.events.open_comm_ids = () => new Set(["c2"]); // c1 closed when the loss was reported
  again.open({ resumed: false, reason: "no such client" });
  assert.deepEqual(seen.slice(-3), [["status", "connecting"], ["lost", "no such client", ["c1"]], ["up", false]]);
  assert.deepEqual(again.counted.map((m) => m.content.comm_id), ["c2"]);
  assert.deepEqual([link.next_index, link.received], [1, 0]);
});

test("past the reconnect window the link reports the client lost", () => {
  const { socket, seen, timers } = makeLink({ open: ["c1"] });
  socket.open({ reconnect_window: 5 });
  socket.close(1006, "");
  timers.find((t) => t.ms === 5000).fn();
  assert.deepEqual(seen.at(-1), ["lost", "disconnected for longer than the 5s reconnect window", ["c1"]]);
});

test("after a resume, the next drop starts the reconnect window again", () => {
  const { socket, seen, timers } = makeLink({ open: ["c1"] });
  socket.open({ reconnect_window: 5 });
  socket.close(1006, "");
  timers.find((t) => t.ms === BACKOFF[0]).fn();
  FakeSocket.last().open({ resumed: true, reconnect_window: 5 }); // back within the window
  const before = timers.filter((t) => t.ms === 5000).length;
  FakeSocket.last().close(1006, "");
  const windows = timers.filter((t) => t.ms === 5000);
  assert.equal(windows.length, before + 1, "no reconnect window after the second drop");
  windows.at(-1).fn();
  assert.deepEqual(seen.at(-1), ["lost", "disconnected for longer than the 5s reconnect window", ["c1"]]);
});

test("a failed handshake asks whether the kernel exists; no: the link gives up", async () => {
  const { link, socket, seen, asked, timers } = makeLink({ exists: false });
  socket.close(1006, "");
  await flush();
  assert.deepEqual(asked, ["kernel_exists"]);
  assert.deepEqual(seen.at(-1), ["given_up", "kernel k-1 does not exist (output from an earlier server run?)"]);
  assert.equal(timers.length, 0);
  assert.equal(link.send(new ArrayBuffer(8)), false);
});

test("final close codes end the link without asking anything", () => {
  const { socket, seen, asked, timers } = makeLink();
  socket.open();
  socket.close(4000, "replaced by another connection");
  assert.deepEqual(seen.slice(-2), [["status", "disconnected"], ["given_up", "kernel k-1: replaced by another connection"]]);
  assert.deepEqual(asked, ["open_comm_ids"]);
  assert.equal(timers.length, 0);
});

test("the watchdog acknowledges, and drops a server silent for MISSED_HEARTBEATS intervals", () => {
  const { socket, seen, tick } = makeLink();
  socket.open({ heartbeat: 1 });
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "c", data: 0 }));
  tick(1000);
  assert.deepEqual(socket.sent.map((m) => [m.channel, m.header.msg_type, m.content.received]), [["bridge", "bridge_ack", 1]]);
  tick(2500); // 3.5 s without a frame
  assert.deepEqual(seen.at(-1), ["status", "disconnected"]);
});

test("the memory of a big frame is reused once the server acknowledged it, never before", () => {
  const { link, socket } = makeLink();
  socket.open();
  const big = (i) => message(link.session_id, "shell", "comm_msg", { comm_id: "c", data: { i } }, {}, [
    new Uint8Array(SPARE_MIN).fill(i),
  ]);
  const first = encode(big(1), (size) => link.reuse(size));
  const second = encode(big(2), (size) => link.reuse(size));
  link.send(first, "c");
  link.send(second, "c");
  assert.notEqual(first, second);
  assert.equal(link.reuse(SPARE_MIN + 200), null); // nothing acknowledged yet
  socket.receive(fromKernel("bridge", "bridge_ack", { received: 1 }));
  const third = encode(big(3), (size) => link.reuse(size));
  assert.ok(third instanceof Uint8Array && third.buffer === first); // the first's memory
  assert.equal(link.reuse(SPARE_MIN + 200), null); // the second is not acknowledged
  link.send(third, "c");
  const sent = socket.counted.map((m) => [m.content.data.i, new Uint8Array(m.buffers[0].buffer, m.buffers[0].byteOffset, 3)[2]]);
  assert.deepEqual(sent, [[1, 1], [2, 2], [3, 3]]);
  assert.equal(link.reuse(100), null); // small frames take fresh memory
});

test("big buffers in frames of their own (bridge_buffers): one message, each buffer its own ArrayBuffer, counted once", () => {
  const { link, socket, seen } = makeLink();
  const got = [];
  link.events.on_message = (msg) => got.push(msg);
  socket.open();
  const small = new Uint8Array([1, 2, 3]);
  const big = [new Float64Array([0.5, 1.5, 2.5]).buffer, new Uint8Array(70_000).fill(9).buffer];
  socket.receive(fromKernel("bridge", "bridge_buffers", { buffers: [0, 2] }));
  const msg = fromKernel("iopub", "comm_msg", { comm_id: "c1", data: 1 }, { buffers: [new ArrayBuffer(0), small, new ArrayBuffer(0)] });
  socket.receive(msg);
  socket.receiveFrame(big[0]);
  assert.equal(got.length, 0); // not before it has every buffer
  socket.receiveFrame(big[1]);
  assert.equal(got.length, 1);
  const [first, middle, last] = got[0].buffers;
  assert.equal(first.buffer, big[0]); // the frame's ArrayBuffer itself: no copy
  assert.equal(last.buffer, big[1]);
  assert.deepEqual(Array.from(new Float64Array(first.buffer)), [0.5, 1.5, 2.5]);
  assert.deepEqual([middle.byteOffset, middle.buffer.byteLength, ...new Uint8Array(middle.buffer)], [0, 3, 1, 2, 3]);
  assert.equal(link.received, 1); // the message and its buffer frames count as one frame
  assert.ok(link.unacked_bytes > 24 + 70_000);
  socket.receive(fromKernel("iopub", "comm_msg", { comm_id: "c1", data: 2 }));
  assert.deepEqual([got.length, got[1].content.data, link.received], [2, 2, 2]);
  assert.ok(seen.every(([kind]) => kind !== "message"));
});

test("a message whose buffer frames a drop cut short is dropped: the server sends it again, whole", () => {
  const { link, socket, timers } = makeLink();
  const got = [];
  link.events.on_message = (msg) => got.push(msg);
  socket.open();
  const announce = (to) => to.receive(fromKernel("bridge", "bridge_buffers", { buffers: [0] }));
  const msg = fromKernel("iopub", "comm_msg", { comm_id: "c1", data: "big" }, { buffers: [new ArrayBuffer(0)] });
  announce(socket);
  socket.receive(msg);
  socket.close(1006, "");
  timers.at(-1).fn(); // reconnect
  const again = FakeSocket.last();
  assert.notEqual(again, socket);
  assert.match(again.url, /&resume=0/);
  again.open({ resumed: true, received: 0 });
  announce(again);
  again.receive(msg);
  again.receiveFrame(new Uint8Array([7, 7]).buffer);
  assert.deepEqual(got.map((m) => [m.content.data, Array.from(new Uint8Array(m.buffers[0].buffer))]), [["big", [7, 7]]]);
  assert.equal(link.received, 1);
});
