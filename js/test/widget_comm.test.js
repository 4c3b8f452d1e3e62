// The widget manager's comms (js/classic_comm.js) and its filter of the
// kernel's widget states (js/widgets/src/states.js): modules without imports, run here.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ClassicComm } from "../classic_comm.js";
import { withoutKnown } from "../widgets/src/states.js";

/** A pycomm Comm, as far as ClassicComm uses it. */
const fakeComm = () => ({ comm_id: "c1", target_name: "jupyter.widget", on_msg(cb) { this.deliver = cb; } });

const reply = (states, buffer_paths = [], buffers = []) => ({
  header: { msg_type: "comm_msg" },
  content: { comm_id: "control", data: { method: "update_states", states, buffer_paths } },
  buffers,
});
const state = (value) => ({ model_name: "IntSliderModel", state: { value } });

test("withoutKnown drops the states of the models the page has, and their buffers", () => {
  const [a, b] = [new DataView(new ArrayBuffer(1)), new DataView(new ArrayBuffer(2))];
  const msg = reply({ known: state(1), new: state(2) }, [["known", "data"], ["new", "data"]], [a, b]);
  const got = withoutKnown(msg, (id) => id === "known");
  assert.deepEqual(Object.keys(got.content.data.states), ["new"]);
  assert.deepEqual(got.content.data.buffer_paths, [["new", "data"]]);
  assert.deepEqual(got.buffers, [b]);
  assert.deepEqual(Object.keys(msg.content.data.states), ["known", "new"]); // not changed in place
});

test("withoutKnown leaves other messages, and replies with nothing known, as they are", () => {
  const msg = reply({ new: state(2) });
  assert.equal(withoutKnown(msg, () => false), msg);
  const other = { ...msg, content: { ...msg.content, data: { method: "custom" } } };
  assert.equal(withoutKnown(other, () => true), other);
});

test("ClassicComm.handled waits for the model's handling of every message received", async () => {
  const comm = fakeComm();
  const classic = new ClassicComm(comm, (msg) => ({ ...msg, seen: true }));
  let finish;
  const got = [];
  classic.on_msg((msg) => {
    got.push(msg);
    return new Promise((resolve) => (finish = resolve)); // as WidgetModel._handle_comm_msg
  });
  comm.deliver({ n: 1 });
  let done = false;
  classic.handled().then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(done, false);
  finish();
  await classic.handled();
  assert.deepEqual(got, [{ n: 1, seen: true }]);
  // a failed handling is the model's to report: handled() still resolves
  classic.on_msg(() => Promise.reject(new Error("bad update")));
  comm.deliver({ n: 2 });
  await classic.handled();
});

test("ClassicComm keeps what comes before on_msg (a model whose class still loads) and hands it over in order, after the model's initialize", async () => {
  const comm = fakeComm();
  const classic = new ClassicComm(comm);
  comm.deliver({ n: 1 }); // e.g. ipympl's canvas getting its toolbar, right after its comm_open
  comm.deliver({ n: 2 });
  const got = [];
  classic.on_msg((msg) => got.push(msg.n)); // (in a model's base initialize)
  comm.deliver({ n: 3 }); // (what comes meanwhile waits behind them)
  assert.deepEqual(got, []); // the subclass's initialize sets its listeners first
  await Promise.resolve();
  assert.deepEqual(got, [1, 2, 3]);
  comm.deliver({ n: 4 });
  assert.deepEqual(got, [1, 2, 3, 4]);
});
