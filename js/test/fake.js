// Test doubles: a fake WebSocket that speaks the v1 frames of the client, and
// helpers to build the messages a bridge would send.
import { KernelConnection } from "../connection.js";
import { decode, encode } from "../wire.js";

export class FakeSocket {
  /** @type {FakeSocket[]} */
  static instances = [];

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    /** @type {any[]} decoded messages the client sent */
    this.sent = [];
    FakeSocket.instances.push(this);
  }

  send(frame) {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    // A WebSocket takes the bytes of a view at send(), as a copy.
    this.sent.push(decode(frame instanceof ArrayBuffer ? frame.slice(0) : frame.slice().buffer));
  }

  /** Open, and (unless `hello` is false) send the server's bridge_hello. */
  open(hello = {}) {
    this.readyState = 1;
    this.onopen?.({});
    if (hello) this.hello(hello);
  }

  hello({ resumed = false, received = 0, reason = undefined, heartbeat = 2, reconnect_window = 30 } = {}) {
    this.receive(fromKernel("bridge", "bridge_hello", { session_id: "s", resumed, received, reason, heartbeat, reconnect_window }));
  }

  /** What the client sent, without its acknowledgements. */
  get counted() {
    return this.sent.filter((m) => m.header.msg_type !== "bridge_ack");
  }

  receive(msg) {
    this.onmessage?.({ data: encode(msg) });
  }

  /** A frame as it is, e.g. a buffer in a frame of its own (bridge_buffers). */
  receiveFrame(data) {
    this.onmessage?.({ data });
  }

  close(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  static last() {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }
}

let counter = 0;

/** A message as the bridge sends it. */
export function fromKernel(channel, msg_type, content, { parent = {}, buffers = [], metadata = {} } = {}) {
  return {
    channel,
    header: { msg_id: `k${++counter}`, msg_type, session: "kernel", username: "", date: "", version: "5.3" },
    parent_header: parent,
    metadata,
    content,
    buffers,
  };
}

/** A recording console. */
export function recorder() {
  const lines = { error: [], warn: [], info: [] };
  return {
    lines,
    error: (...a) => lines.error.push(a.map(String).join(" ")),
    warn: (...a) => lines.warn.push(a.map(String).join(" ")),
    info: (...a) => lines.info.push(a.map(String).join(" ")),
  };
}

/**
 * The fake page's options (`timers`, `tick(ms)`: see makeConnection), for anything
 * that takes ConnectionOptions or LinkOptions.
 */
export function fakeOptions({ fetchStatus = 200, config = {}, href = "http://127.0.0.1:8888/lab", open_check = 0 } = {}) {
  const log = recorder();
  const timers = [];
  let watchdog = () => {};
  const clock = { now: 1000 };
  const options = {
    config: { baseUrl: "/", wsUrl: "", token: "tok", ...config },
    WebSocket: FakeSocket,
    location: { href },
    fetch: async () => ({ status: fetchStatus, ok: fetchStatus === 200 }),
    console: log,
    setTimeout: (fn, ms) => {
      const timer = { fn, ms, cancelled: false };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (t) => t && (t.cancelled = true),
    setInterval: (fn) => ((watchdog = fn), 1),
    clearInterval: () => (watchdog = () => {}),
    now: () => clock.now,
    open_check,
  };
  const tick = (ms) => {
    clock.now += ms;
    watchdog();
  };
  return { options, log, timers, tick, clock };
}

/**
 * A KernelConnection on a fake socket, with a fake clock: `timers` collects what it
 * schedules (reconnects, the reconnect window) instead of running them; `tick(ms)`
 * advances the clock and runs the watchdog once.
 */
export function makeConnection(settings = {}) {
  const { options, log, timers, tick, clock } = fakeOptions(settings);
  const kernel = new KernelConnection("k-1", options);
  kernel.connect();
  return { kernel, socket: FakeSocket.last(), log, timers, tick, clock };
}
