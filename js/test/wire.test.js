import assert from "node:assert/strict";
import { test } from "node:test";

import { decode, encode } from "../wire.js";

const bytes = (view) => Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));

/** A message with these buffers, as the kernel would send it. */
const withBuffers = (buffers) => ({
  channel: "iopub",
  header: { msg_id: "m", msg_type: "comm_msg", session: "s", username: "", date: "", version: "5.3" },
  parent_header: {},
  metadata: {},
  content: { comm_id: "c", data: { odd: "é" } }, // a JSON part of an odd byte length before them
  buffers,
});

test("v1 frames round-trip, with buffers as DataViews and falsy values intact", () => {
  const view = new Float64Array([1.5, -2, 3]);
  const part = new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 4); // a view with an offset
  const msg = {
    ...withBuffers([view, part, new ArrayBuffer(0), new DataView(new Uint8Array([1, 2]).buffer)]),
    channel: "shell",
    metadata: { zero: 0 },
    content: { comm_id: "c", data: { a: 0, b: "", c: false, d: null, e: [0, { f: [] }], g: "é✓" } },
  };
  const back = decode(encode(msg));
  assert.equal(back.channel, "shell");
  assert.deepEqual(back.content, msg.content);
  assert.deepEqual(back.metadata, { zero: 0 });
  assert.equal(back.buffers.length, 4);
  assert.ok(back.buffers.every((b) => b instanceof DataView));
  assert.deepEqual(Array.from(new Float64Array(back.buffers[0].buffer)), [1.5, -2, 3]);
  assert.deepEqual(bytes(back.buffers[1]), [8, 7, 6]);
  assert.equal(back.buffers[2].byteLength, 0);
  assert.deepEqual(bytes(back.buffers[3]), [1, 2]);
});

test("each received buffer is a DataView over an ArrayBuffer of its own, as JupyterLab gives them", () => {
  const lengths = [3, 0, 1, 24, 5, 40, 7];
  const sent = lengths.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (17 * i + j) & 255));
  const frame = encode(withBuffers(sent));
  assert.notEqual(frame.byteLength % 8, 0); // the frame itself is no whole number of float64
  const { buffers } = decode(/** @type {ArrayBuffer} */ (frame));
  assert.equal(buffers.length, lengths.length);
  buffers.forEach((b, i) => {
    assert.ok(b instanceof DataView);
    assert.equal(b.byteOffset, 0, `buffer ${i}`);
    assert.equal(b.byteLength, lengths[i], `buffer ${i}`);
    assert.equal(b.buffer.byteLength, lengths[i], `buffer ${i}: its .buffer is its bytes only`);
    assert.notEqual(b.buffer, frame, `buffer ${i}`);
    assert.deepEqual(Array.from(new Uint8Array(b.buffer)), Array.from(sent[i]));
  });
  const distinct = new Set(buffers.map((b) => b.buffer));
  assert.equal(distinct.size, buffers.length); // no two share memory
});

test("typed arrays over received buffers: float64 buffers of 3 and 5 values read as sent", () => {
  const three = new Float64Array([0.5, 1.5, 2.5]);
  const five = new Float64Array([1, 2, 3, 4, 5]);
  const { buffers } = decode(/** @type {ArrayBuffer} */ (encode(withBuffers([three, five]))));
  // the everyday idiom in a pycomm output: no RangeError, the values of each buffer alone
  assert.deepEqual(Array.from(new Float64Array(buffers[0].buffer)), [0.5, 1.5, 2.5]);
  assert.deepEqual(Array.from(new Float64Array(buffers[1].buffer)), [1, 2, 3, 4, 5]);
  // the frame can go: the buffers do not keep it, nor each other, alive or changed
  new Uint8Array(buffers[0].buffer).fill(0);
  assert.deepEqual(Array.from(new Float64Array(buffers[1].buffer)), [1, 2, 3, 4, 5]);
});

test("the v1 offset table matches jupyter_server's layout", () => {
  const frame = encode({ channel: "iopub", header: {}, parent_header: {}, metadata: {}, content: {}, buffers: [] });
  const view = new DataView(frame);
  assert.equal(view.getUint32(0, true), 6); // channel + 4 parts + end
  assert.equal(view.getUint32(8, true), 8 * 7); // channel starts after the table
  assert.equal(view.getUint32(8 * 6, true), frame.byteLength);
  assert.throws(() => decode(new Uint8Array(16).buffer), /bad frame/);
});
