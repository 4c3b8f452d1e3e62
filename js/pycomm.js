// @ts-check
/**
 * pycomm: the browser client of jupyter_comm_bridge.
 *
 * One KernelClient per kernel per page, each with one websocket to
 * `{base_url}comm-bridge/kernels/{kernel_id}/channels` (v1 kernel websocket
 * protocol). The bootstrap that the server injects into outputs defines
 * `window.pycomm` at once and calls `install` when this module has loaded.
 *
 * @module pycomm
 */

/**
 * @typedef {{msg_id: string, msg_type: string, session: string, username: string,
 *            date: string, version: string}} Header
 * @typedef {{channel: string, header: Header, parent_header: Record<string, any>,
 *            metadata: Record<string, any>, content: Record<string, any>,
 *            buffers: DataView[]}} Message
 * @typedef {ArrayBuffer | ArrayBufferView} BufferLike
 * @typedef {{channel: string, header: Header, parent_header: Record<string, any>,
 *            metadata: Record<string, any>, content: Record<string, any>,
 *            buffers: BufferLike[]}} OutgoingMessage
 * @typedef {{baseUrl?: string, wsUrl?: string, token?: string}} PageConfig
 * @typedef {"connecting" | "connected" | "disconnected"} Status
 * @typedef {{metadata?: Record<string, any>, buffers?: BufferLike[]}} SendOptions
 * @typedef {(comm: Comm, msg: Message) => void} TargetCallback
 * @typedef {(data: any, msg: Message) => void} Listener
 * @typedef {{
 *   config: PageConfig,
 *   WebSocket: typeof WebSocket,
 *   fetch?: typeof fetch,
 *   location: {href: string},
 *   console?: Pick<Console, "error" | "warn" | "info">,
 *   setTimeout?: (fn: () => void, ms: number) => any,
 *   clearTimeout?: (handle: any) => void,
 *   setInterval?: (fn: () => void, ms: number) => any,
 *   clearInterval?: (handle: any) => void,
 *   now?: () => number,
 *   open_check?: number,
 * }} ClientOptions
 */

export const PROTOCOL = "v1.kernel.websocket.jupyter.org";
export const PROTOCOL_VERSION = "5.3";
/** Reconnection delays (ms), the last one repeated. */
export const BACKOFF = [250, 500, 1000, 2000, 4000, 8000, 10000];
/** Server close codes after which reconnecting cannot help (replaced; kernel gone). */
const FINAL_CLOSE_CODES = new Set([4000, 4004]);
/** Server close codes that end the session, with a reason worth passing on to comms. */
const SESSION_END_CODES = new Set([4008, 4009]);
/** Give up on a websocket handshake after this long (a frozen server never answers). */
const CONNECT_TIMEOUT = 10000;
/** ms a page-opened comm waits for the kernel to confirm it (comm_info) before `opened` rejects. */
export const OPEN_CHECK = 10000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- wire format (v1.kernel.websocket.jupyter.org) -------------------------

/** @param {BufferLike} buffer */
function asBytes(buffer) {
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  throw new TypeError("pycomm: buffers must be ArrayBuffer or ArrayBufferView");
}

/**
 * Encode a message as one v1 frame: offset count, offsets, channel, header,
 * parent_header, metadata, content, buffers (little-endian u64 offsets).
 * @param {OutgoingMessage} msg
 * @returns {ArrayBuffer}
 */
export function encode(msg) {
  const json = [msg.header, msg.parent_header, msg.metadata, msg.content];
  const chunks = [
    encoder.encode(msg.channel),
    ...json.map((part) => encoder.encode(JSON.stringify(part))),
    ...(msg.buffers || []).map(asBytes),
  ];
  const count = chunks.length + 1;
  const tableSize = 8 * (count + 1);
  const total = chunks.reduce((n, c) => n + c.byteLength, tableSize);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const setU64 = (/** @type {number} */ at, /** @type {number} */ value) => {
    view.setUint32(at, value % 2 ** 32, true);
    view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
  };
  setU64(0, count);
  let offset = tableSize;
  chunks.forEach((chunk, i) => {
    setU64(8 * (i + 1), offset);
    out.set(chunk, offset);
    offset += chunk.byteLength;
  });
  setU64(8 * count, offset);
  return out.buffer;
}

/**
 * Decode one v1 frame. Buffers are DataViews on the frame (no copy).
 * @param {ArrayBuffer} frame
 * @returns {Message}
 */
export function decode(frame) {
  const view = new DataView(frame);
  const getU64 = (/** @type {number} */ at) =>
    view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
  const count = getU64(0);
  if (count < 6 || 8 * (count + 1) > frame.byteLength) {
    throw new Error(`pycomm: bad frame (${count} offsets)`);
  }
  const offsets = Array.from({ length: count }, (_, i) => getU64(8 * (i + 1)));
  const slice = (/** @type {number} */ i) =>
    new Uint8Array(frame, offsets[i], offsets[i + 1] - offsets[i]);
  const parse = (/** @type {number} */ i) => JSON.parse(decoder.decode(slice(i)));
  const buffers = [];
  for (let i = 5; i < count - 1; i++) {
    buffers.push(new DataView(frame, offsets[i], offsets[i + 1] - offsets[i]));
  }
  return {
    channel: decoder.decode(slice(0)),
    header: parse(1),
    parent_header: parse(2),
    metadata: parse(3),
    content: parse(4),
    buffers,
  };
}

// --- URLs -------------------------------------------------------------------

/**
 * The bridge websocket URL of a kernel: from the page's wsUrl if it has one,
 * else its baseUrl, with ws:// or wss:// matching http:// or https://.
 * @param {PageConfig} config
 * @param {string} kernel_id
 * @param {string} session_id
 * @param {{href: string}} location
 */
export function bridgeUrl(config, kernel_id, session_id, location) {
  const page = new URL(location.href);
  const base = new URL(config.wsUrl || config.baseUrl || "/", page);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  if (base.protocol === "http:" || base.protocol === "https:") {
    base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  }
  const url = new URL(`comm-bridge/kernels/${encodeURIComponent(kernel_id)}/channels`, base);
  url.searchParams.set("session_id", session_id);
  url.searchParams.set("resumable", "1"); // hello, acks and replay: see README, Sessions
  if (config.token) url.searchParams.set("token", config.token);
  return url.href;
}

/**
 * The REST URL of a kernel, to tell "no such kernel" from a network failure.
 * @param {PageConfig} config
 * @param {string} kernel_id
 * @param {{href: string}} location
 */
export function kernelApiUrl(config, kernel_id, location) {
  const base = new URL(config.baseUrl || "/", new URL(location.href));
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  return new URL(`api/kernels/${encodeURIComponent(kernel_id)}`, base).href;
}

/** A random UUID (crypto.randomUUID is missing on plain-http pages). */
export function uuid() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Run a user callback; an error in it is logged and goes no further.
 * @param {Pick<Console, "error">} log
 * @param {string} where
 * @param {() => void} fn
 */
function guarded(log, where, fn) {
  try {
    fn();
  } catch (e) {
    log.error(`pycomm: error in ${where}:`, e);
  }
}

// --- Comm -------------------------------------------------------------------

/** One comm, opened by the page (`new_comm`/`open`) or by the kernel (a target). */
export class Comm {
  /**
   * @param {KernelClient} client
   * @param {string} comm_id
   * @param {string} target_name
   */
  constructor(client, comm_id, target_name) {
    this.comm_id = comm_id;
    this.target_name = target_name;
    this.closed = false;
    /** @private */ this._client = client;
    /** @type {{resolve: () => void, reject: (e: Error) => void} | null} @private */
    this._opening = null;
    /**
     * For comms opened from the page: resolves once the kernel lists the comm as open;
     * rejects with the reason when it did not open it (no such target, no comm support,
     * no answer). Kernel-opened comms are open from the start.
     * @type {Promise<void>}
     */
    this.opened = new Promise((resolve, reject) => (this._opening = { resolve, reject }));
    this.opened.catch(() => {}); // reported on the console and through on_close, not unhandled
    /** @type {((msg: Message) => void) | null} @private */ this._on_msg = null;
    /** @type {((msg: Message) => void) | null} @private */ this._on_close = null;
  }

  /**
   * Send data (any JSON value) to the kernel side of the comm; returns the msg_id.
   * @param {any} data
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   */
  send(data, metadata, buffers) {
    if (this.closed) throw new Error(`pycomm: comm ${this.comm_id} is closed`);
    const content = { comm_id: this.comm_id, data: data === undefined ? {} : data };
    return this._client._send_message("comm_msg", content, metadata, buffers);
  }

  /** Set the callback for messages from the kernel (replaces the previous one).
   * @param {(msg: Message) => void} callback */
  on_msg(callback) {
    this._on_msg = callback;
  }

  /** Set the callback for the comm's close, from either side (replaces the previous one).
   * @param {(msg: Message) => void} callback */
  on_close(callback) {
    this._on_close = callback;
  }

  /**
   * Close the comm: tells the kernel, then calls the on_close callback.
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   */
  close(data, metadata, buffers) {
    if (this.closed) return;
    const content = { comm_id: this.comm_id, data: data === undefined ? {} : data };
    const msg_id = this._client._send_message("comm_close", content, metadata, buffers);
    this._handle_close(this._client._local_message("comm_close", content, metadata, msg_id));
  }

  /** @param {Message} msg @internal */
  _handle_msg(msg) {
    const callback = this._on_msg;
    if (callback) guarded(this._client.log, `on_msg of comm ${this.comm_id}`, () => callback(msg));
  }

  /** @param {Error | null} error @internal */
  _settle(error) {
    const opening = this._opening;
    this._opening = null;
    if (opening) error ? opening.reject(error) : opening.resolve();
  }

  /** @param {Message} msg @internal */
  _handle_close(msg) {
    if (this.closed) return;
    this.closed = true;
    this._settle(new Error(`pycomm: comm ${this.comm_id} closed: ${msg.metadata?.reason || "by the kernel"}`));
    this._client._forget(this);
    const callback = this._on_close;
    if (callback) guarded(this._client.log, `on_close of comm ${this.comm_id}`, () => callback(msg));
  }
}

// --- BridgeLink: the websocket and the session protocol ---------------------------

/**
 * The bridge connection of one KernelClient: reconnects with backoff, resumes its
 * session (the server replays what this page missed, and says how much of what it
 * sent arrived), acknowledges what it receives, and watches the server's heartbeat.
 * Control frames (bridge_hello, bridge_ack) are not counted; every other frame is.
 */
class BridgeLink {
  /**
   * @param {KernelClient} client
   * @param {ClientOptions} options
   */
  constructor(client, options) {
    this.client = client;
    this.options = options;
    this.session_id = uuid();
    /** @type {WebSocket | null} */ this.ws = null;
    this.ready = false; // hello received on the current socket
    this.had_session = false;
    this.given_up = false;
    this.attempt = 0;
    this.received = 0; // counted frames received in this session
    this.unacked_bytes = 0; // bytes received since the last bridge_ack
    this.ack_bytes = 16 * 1024 * 1024; // a quarter of the server's max_queued_bytes (hello)
    this.acked = 0; // the last count acknowledged to the server
    this.next_index = 0; // index of the next counted frame we send
    /** @type {{index: number, frame: ArrayBuffer, comm_id?: string}[]} sent or waiting, not acknowledged */
    this.unacked = [];
    this.heartbeat_ms = 2000;
    this.window_ms = 30000;
    this.last_frame = 0;
    this.connect_started = 0;
    /** @type {Set<string>} comms open when the connection dropped: gone if the session is */
    this.at_drop = new Set();
    this.end_reason = "";
    /** @type {any} */ this.window_timer = null;
    /** @type {any} */ this.watchdog = null;
  }

  /** @returns {number} */
  now() {
    return (this.options.now || Date.now)();
  }

  connect() {
    const { config, location, WebSocket: Socket } = this.options;
    const url = new URL(bridgeUrl(config, this.client.kernel_id, this.session_id, location));
    if (this.had_session) url.searchParams.set("resume", String(this.received));
    const ws = new Socket(url.href, [PROTOCOL]);
    ws.binaryType = "arraybuffer";
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.last_frame = this.now();
    };
    ws.onmessage = (event) => this.ws === ws && this.on_frame(event.data);
    ws.onclose = (event) => this.ws === ws && this.on_close(opened, event.code, event.reason);
    this.ws = ws;
    this.ready = false;
    this.connect_started = this.now();
    this.client._set_status("connecting");
    if (!this.watchdog) {
      const every = this.options.setInterval || setInterval;
      this.watchdog = every(() => this.tick(), 1000);
      this.watchdog?.unref?.(); // (node, in tests: the watchdog alone keeps nothing alive)
    }
  }

  /** Queue a counted frame; it goes out now if the session is up. @param {ArrayBuffer} frame @param {string} [comm_id] */
  send(frame, comm_id) {
    if (this.given_up) return false;
    this.unacked.push({ index: this.next_index++, frame, comm_id });
    if (this.ready && this.ws) this.ws.send(frame);
    return true;
  }

  /** @param {ArrayBuffer | string} data */
  on_frame(data) {
    this.last_frame = this.now();
    let msg;
    try {
      if (typeof data === "string") throw new Error("text frame on the v1 protocol");
      msg = decode(data);
    } catch (e) {
      this.client.log.error("pycomm: could not decode a message from the bridge:", e);
      this.count(0);
      return;
    }
    const type = msg.header.msg_type;
    if (msg.channel === "bridge" && type === "bridge_hello") return this.on_hello(msg.content);
    if (msg.channel === "bridge" && type === "bridge_ack") return this.trim(msg.content.received);
    this.count(/** @type {ArrayBuffer} */ (data).byteLength);
    guarded(this.client.log, `handling ${type}`, () => this.client._dispatch(msg));
  }

  /**
   * Count a received frame; acknowledge every 64 frames, and before the server's bound on
   * unacknowledged bytes (max_queued_bytes) comes near: large buffers fill it in a few frames.
   * @param {number} bytes
   */
  count(bytes) {
    this.received += 1;
    this.unacked_bytes += bytes;
    if (this.received - this.acked >= 64 || this.unacked_bytes >= this.ack_bytes) this.ack();
  }

  ack() {
    if (!this.ready || !this.ws) return;
    this.acked = this.received;
    this.unacked_bytes = 0;
    this.ws.send(encode(this.client._message("bridge", "bridge_ack", { received: this.received })));
  }

  /** @param {number} received how many of our counted frames the server has */
  trim(received) {
    while (this.unacked.length && this.unacked[0].index < received) this.unacked.shift();
  }

  /** @param {Record<string, any>} hello */
  on_hello(hello) {
    const ws = /** @type {WebSocket} */ (this.ws);
    this.heartbeat_ms = 1000 * (hello.heartbeat || 2);
    this.window_ms = 1000 * (hello.reconnect_window ?? 30);
    if (hello.max_queued_bytes > 0) this.ack_bytes = hello.max_queued_bytes / 4;
    this.attempt = 0;
    (this.options.clearTimeout || clearTimeout)(this.window_timer);
    if (hello.resumed) {
      this.trim(hello.received);
    } else {
      if (this.had_session) {
        const why = this.end_reason || hello.reason || "the bridge session ended";
        this.client._session_lost(why, this.at_drop);
        // What is left was never received by any server: comms opened while away.
        const keep = this.unacked.filter((e) => e.comm_id && this.client._comms.has(e.comm_id));
        this.unacked = keep.map((e, index) => ({ ...e, index }));
        this.next_index = keep.length;
        this.received = this.acked = 0;
      }
    }
    this.had_session = true;
    this.ready = true;
    this.at_drop = new Set();
    this.end_reason = "";
    for (const entry of this.unacked) ws.send(entry.frame);
    this.client._session_up(Boolean(hello.resumed));
  }

  /** @param {boolean} opened @param {number} code @param {string} reason */
  on_close(opened, code, reason) {
    if (this.ready) this.at_drop = new Set(this.client._comms.keys());
    this.ws = null;
    this.ready = false;
    this.client._set_status("disconnected");
    if (this.given_up) return;
    const why = reason || `the bridge connection closed (code ${code})`;
    if (FINAL_CLOSE_CODES.has(code)) return this.give_up(`kernel ${this.client.kernel_id}: ${why}`);
    if (SESSION_END_CODES.has(code)) this.end_reason = why;
    if (this.had_session && !this.window_timer) {
      const later = this.options.setTimeout || setTimeout;
      this.window_timer = later(() => {
        this.window_timer = null;
        const lost = `disconnected for longer than the ${this.window_ms / 1000}s reconnect window`;
        this.client._session_lost(lost, this.at_drop);
      }, this.window_ms);
    }
    if (opened) return this.retry();
    this.client._kernel_exists().then((exists) =>
      exists === false
        ? this.give_up(`kernel ${this.client.kernel_id} does not exist (output from an earlier session?)`)
        : this.retry(),
    );
  }

  retry() {
    if (this.given_up) return;
    const delay = BACKOFF[Math.min(this.attempt++, BACKOFF.length - 1)];
    (this.options.setTimeout || setTimeout)(() => this.given_up || this.connect(), delay);
  }

  /** Every second: acknowledge, and drop a connection whose server went quiet. */
  tick() {
    const ws = this.ws;
    if (!ws) return;
    const waiting = this.now() - (ws.readyState === 1 ? this.last_frame : this.connect_started);
    if (ws.readyState === 1 && this.received > this.acked) this.ack();
    const limit = ws.readyState === 1 ? 3 * this.heartbeat_ms : CONNECT_TIMEOUT;
    if (waiting > limit) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close(4001, "the server went quiet");
      this.on_close(ws.readyState !== 0, 4001, "the server went quiet");
    }
  }

  /** @param {string} why */
  give_up(why) {
    this.given_up = true;
    (this.options.clearInterval || clearInterval)(this.watchdog);
    this.unacked = [];
    this.client._given_up(why);
  }
}

// --- KernelClient -------------------------------------------------------------

/** The pycomm API bound to one kernel, over one bridge connection. */
export class KernelClient {
  /**
   * @param {string} kernel_id
   * @param {ClientOptions} options
   */
  constructor(kernel_id, options) {
    this.kernel_id = kernel_id;
    /** @type {Status} */
    this.status = "connecting";
    this.options = options;
    this.log = options.console || console;
    this.link = new BridgeLink(this, options);
    this.session_id = this.link.session_id;
    /** @type {Map<string, Comm>} */ this._comms = new Map();
    /** @type {Map<string, TargetCallback>} */ this._targets = new Map();
    /** @type {Map<string, Set<Listener>>} */ this._listeners = new Map();
    /** @type {Set<string>} targets registered on the server in this session */
    this._registered = new Set();
    /** @type {Map<string, Comm>} */ this._shared = new Map();
    /** @type {Map<string, {resolve: (m: Message) => void, reject: (e: Error) => void}>} */
    this._requests = new Map();
    /** @type {Set<(status: Status) => void>} */ this._status_callbacks = new Set();
    /** @type {(() => void) | null} */ this._resolve_ready = null;
    /** @type {((e: Error) => void) | null} */ this._reject_ready = null;
    /** @type {Promise<void>} Resolves when the bridge connection is up. */
    this.ready = new Promise((resolve, reject) => {
      this._resolve_ready = resolve;
      this._reject_ready = reject;
    });
    this.ready.catch(() => {}); // a rejection is reported on the console, not as unhandled
  }

  // --- the public API -------------------------------------------------------

  /**
   * Open a comm from the page (classic Notebook signature).
   * @param {string} target_name
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   */
  new_comm(target_name, data, metadata, buffers) {
    return this._open_comm(target_name, data, metadata, buffers);
  }

  /**
   * Open a comm from the page (options object).
   * @param {string} target_name
   * @param {any} [data]
   * @param {SendOptions} [options]
   */
  open(target_name, data, options = {}) {
    return this._open_comm(target_name, data, options.metadata, options.buffers);
  }

  /**
   * Handle comms the kernel opens for `target_name`.
   * @param {string} target_name
   * @param {TargetCallback} callback
   */
  register_target(target_name, callback) {
    this._targets.set(target_name, callback);
    this._sync_targets();
  }

  /** @param {string} target_name */
  unregister_target(target_name) {
    this._targets.delete(target_name);
    this._sync_targets();
  }

  /**
   * Send on the page's shared comm for `target_name` (opened on first use).
   * @param {string} target_name
   * @param {any} data
   * @param {SendOptions} [options]
   */
  send(target_name, data, options = {}) {
    let comm = this._shared.get(target_name);
    if (!comm || comm.closed) {
      comm = this._open_comm(target_name, {});
      this._shared.set(target_name, comm);
    }
    return comm.send(data, options.metadata, options.buffers);
  }

  /**
   * Call `listener(data, msg)` for what the kernel sends on comms of `target_name`
   * (comms the page opened, and comms the kernel opens: they are accepted).
   * Returns a function that removes the listener.
   * @param {string} target_name
   * @param {Listener} listener
   */
  on(target_name, listener) {
    let set = this._listeners.get(target_name);
    if (!set) this._listeners.set(target_name, (set = new Set()));
    set.add(listener);
    this._sync_targets();
    return () => {
      set.delete(listener);
      this._sync_targets();
    };
  }

  /**
   * The kernel's open comms that this client may see, as `{comm_id: {target_name}}`.
   * @param {string} [target_name]
   * @returns {Promise<Record<string, {target_name: string}>>}
   */
  async comm_info(target_name) {
    const content = target_name === undefined ? {} : { target_name };
    const msg = this._message("shell", "comm_info_request", content);
    const reply = await new Promise((resolve, reject) => {
      this._requests.set(msg.header.msg_id, { resolve, reject });
      this._send(msg);
    });
    return reply.content.comms || {};
  }

  /**
   * Call `callback(status)` whenever the status changes; returns an unsubscribe function.
   * @param {(status: Status) => void} callback
   */
  on_status(callback) {
    this._status_callbacks.add(callback);
    return () => this._status_callbacks.delete(callback);
  }

  /** Open the bridge connection (the Root calls this once). */
  connect() {
    this.link.connect();
  }

  // --- the link's events ------------------------------------------------------

  /** @param {Status} status @internal */
  _set_status(status) {
    if (this.status === status) return;
    this.status = status;
    for (const callback of [...this._status_callbacks]) {
      guarded(this.log, "on_status callback", () => callback(status));
    }
  }

  /** The session is up (new or resumed). @param {boolean} resumed @internal */
  _session_up(resumed) {
    if (!resumed) this._registered.clear();
    this._sync_targets();
    this._set_status("connected");
    this._resolve_ready?.();
  }

  /**
   * The server no longer has this page's session: its comms are gone.
   * @param {string} why
   * @param {Set<string>} [only] just these comms (others were opened since, not sent yet)
   * @internal
   */
  _session_lost(why, only) {
    for (const comm of [...this._comms.values()]) {
      if (only && !only.has(comm.comm_id)) continue;
      const content = { comm_id: comm.comm_id, data: {} };
      comm._handle_close(this._local_message("comm_close", content, { reason: why }));
    }
    const error = new Error(`pycomm: ${why}`);
    for (const request of this._requests.values()) request.reject(error);
    this._requests.clear();
  }

  /** @param {string} why @internal */
  _given_up(why) {
    this._session_lost(why);
    this._set_status("disconnected");
    this.log.error(`pycomm: ${why}; not reconnecting.`);
    this._reject_ready?.(new Error(`pycomm: ${why}`));
  }

  /** @returns {Promise<boolean | null>} null when it cannot be told. @internal */
  async _kernel_exists() {
    const { fetch: get, config, location } = this.options;
    if (!get) return null;
    try {
      const headers = config.token ? { Authorization: `token ${config.token}` } : undefined;
      const signal = AbortSignal.timeout(CONNECT_TIMEOUT);
      const response = await get(kernelApiUrl(config, this.kernel_id, location), { headers, signal });
      return response.status === 404 ? false : response.ok ? true : null;
    } catch {
      return null;
    }
  }

  // --- incoming -----------------------------------------------------------------

  /** @param {Message} msg @internal */
  _dispatch(msg) {
    const type = msg.header.msg_type;
    const comm = this._comms.get(msg.content.comm_id);
    if (msg.channel === "bridge") {
      if (type === "bridge_error") this._bridge_error(msg);
      if (type === "bridge_status") {
        const { kernel_connection, reason } = msg.content;
        this.log.info(`pycomm: kernel ${this.kernel_id}: ${kernel_connection}${reason ? ` (${reason})` : ""}`);
      }
    } else if (type === "comm_open") {
      this._kernel_opened(msg);
    } else if (type === "comm_msg") {
      comm?._handle_msg(msg);
      this._notify(comm?.target_name, msg);
    } else if (type === "comm_close") {
      comm?._handle_close(msg);
    }
    const request = this._requests.get(msg.parent_header.msg_id);
    if (request && msg.channel === "shell") {
      this._requests.delete(msg.parent_header.msg_id);
      request.resolve(msg);
    }
  }

  /** @param {Message} msg @private */
  _kernel_opened(msg) {
    const { comm_id, target_name } = msg.content;
    const callback = this._targets.get(target_name);
    if (!this._wants(target_name)) {
      // unregistered while the open was on its way: refuse it, as Jupyter frontends do
      this._send(this._message("shell", "comm_close", { comm_id, data: {} }));
      return;
    }
    const comm = new Comm(this, comm_id, target_name);
    comm._settle(null); // the kernel opened it
    this._comms.set(comm_id, comm);
    if (callback) guarded(this.log, `target ${target_name}`, () => callback(comm, msg));
    this._notify(target_name, msg);
  }

  /** @param {string | undefined} target_name @param {Message} msg @private */
  _notify(target_name, msg) {
    const listeners = target_name === undefined ? undefined : this._listeners.get(target_name);
    for (const listener of listeners ? [...listeners] : []) {
      guarded(this.log, `listener of ${target_name}`, () => listener(msg.content.data, msg));
    }
  }

  /** @param {Message} msg @private */
  _bridge_error(msg) {
    const { ename, evalue, msg_type, comm_id } = msg.content;
    const request = this._requests.get(msg.parent_header.msg_id);
    if (request) {
      this._requests.delete(msg.parent_header.msg_id);
      request.reject(new Error(`pycomm: ${ename}: ${evalue}`));
      return;
    }
    this.log.error(`pycomm: the bridge refused ${msg_type || "a message"}: ${ename}: ${evalue}`);
    const comm = this._comms.get(comm_id);
    if (comm && msg_type === "comm_open") {
      comm._handle_close(this._local_message("comm_close", { comm_id, data: {} }, { reason: evalue }));
    }
  }

  // --- outgoing -------------------------------------------------------------------

  /**
   * @param {string} target_name
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @param {string} [comm_id] set by the bootstrap, which hands out ids before loading us
   * @internal
   */
  _open_comm(target_name, data, metadata, buffers, comm_id = uuid()) {
    if (typeof target_name !== "string" || !target_name) {
      throw new TypeError("pycomm: target_name must be a non-empty string");
    }
    const comm = new Comm(this, comm_id, target_name);
    this._comms.set(comm_id, comm);
    const content = { comm_id, target_name, data: data === undefined ? {} : data };
    this._send_message("comm_open", content, metadata, buffers);
    this._check_open(comm);
    return comm;
  }

  /**
   * Ask the kernel whether it opened `comm` (comm_info, which the bridge sends after the
   * comm_open on the same shell): a kernel without the target, or without comm support,
   * answers without it, and the comm closes with that reason instead of staying silent.
   * @param {Comm} comm
   */
  _check_open(comm) {
    const ms = this.options.open_check ?? OPEN_CHECK;
    if (!ms) return comm._settle(null);
    const timer = (this.options.setTimeout || setTimeout)(() => {
      comm._settle(new Error(`pycomm: the kernel did not confirm comm ${comm.comm_id} within ` +
        `${ms / 1000}s: it is busy, or it does not support comms`));
    }, ms);
    const done = () => (this.options.clearTimeout || clearTimeout)(timer);
    this.comm_info(comm.target_name).then((comms) => {
      done();
      if (comm.comm_id in comms || comm.closed) return comm._settle(null);
      const reason = `the kernel did not open the comm: it has no target "${comm.target_name}", ` +
        "or does not support comms opened from the page";
      this.log.warn(`pycomm: comm ${comm.comm_id}: ${reason}`);
      this._send_message("comm_close", { comm_id: comm.comm_id, data: {} });
      comm._handle_close(this._local_message("comm_close", { comm_id: comm.comm_id, data: {} }, { reason }));
    }, (/** @type {Error} */ e) => (done(), comm._settle(e)));
  }

  /** @param {Comm} comm @internal */
  _forget(comm) {
    this._comms.delete(comm.comm_id);
    if (this._shared.get(comm.target_name) === comm) this._shared.delete(comm.target_name);
  }

  /**
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @returns {string} the msg_id
   * @internal
   */
  _send_message(msg_type, content, metadata, buffers) {
    const msg = this._message("shell", msg_type, content, metadata, buffers);
    this._send(msg);
    return msg.header.msg_id;
  }

  /** @param {OutgoingMessage} msg @private */
  _send(msg) {
    if (!this.link.send(encode(msg), msg.content.comm_id)) {
      this.log.warn(`pycomm: kernel ${this.kernel_id} is disconnected; ${msg.header.msg_type} dropped`);
    }
  }

  /** Tell the server about targets registered or dropped since it last heard. @private */
  _sync_targets() {
    if (!this.link.ready) return; // the next session start does it
    for (const target_name of this._registered) {
      if (!this._wants(target_name)) {
        this._registered.delete(target_name);
        this._send(this._message("bridge", "unregister_target_request", { target_name }));
      }
    }
    const wanted = [...this._targets.keys(), ...this._listeners.keys()];
    for (const target_name of wanted) {
      if (this._wants(target_name) && !this._registered.has(target_name)) {
        this._registered.add(target_name);
        this._send(this._message("bridge", "register_target_request", { target_name }));
      }
    }
  }

  /**
   * @param {string} channel
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @returns {OutgoingMessage}
   * @internal
   */
  _message(channel, msg_type, content, metadata, buffers) {
    return {
      channel,
      header: {
        msg_id: uuid(),
        msg_type,
        session: this.session_id,
        username: "",
        date: new Date().toISOString(),
        version: PROTOCOL_VERSION,
      },
      parent_header: {},
      metadata: metadata || {},
      content,
      buffers: buffers || [],
    };
  }

  /**
   * A message for callbacks about something that happened here, not in the kernel.
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @param {Record<string, any>} [metadata]
   * @param {string} [msg_id]
   * @returns {Message}
   * @internal
   */
  _local_message(msg_type, content, metadata, msg_id) {
    const msg = this._message("iopub", msg_type, content, metadata);
    if (msg_id) msg.header.msg_id = msg_id;
    return { ...msg, buffers: [] };
  }

  /** @param {string} target_name @private */
  _wants(target_name) {
    return this._targets.has(target_name) || (this._listeners.get(target_name)?.size ?? 0) > 0;
  }
}

// --- Root and install -------------------------------------------------------------

/** Every KernelClient of the page, created (and connected) on first use. */
export class Root {
  /** @param {ClientOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {Map<string, KernelClient>} */ this.clients = new Map();
  }

  /** @param {string} kernel_id */
  kernel(kernel_id) {
    let client = this.clients.get(kernel_id);
    if (!client) {
      client = new KernelClient(kernel_id, this.options);
      this.clients.set(kernel_id, client);
      client.connect();
    }
    return client;
  }
}

/**
 * @typedef {{k?: string, m: string, args: any[], comm?: any,
 *            resolve?: (v: any) => void, reject?: (e: any) => void}} Queued
 * @typedef {{config: PageConfig, queue: Queued[], impl: Root | null}} Boot
 */

/**
 * Called by the bootstrap once this module has loaded: create the Root and
 * replay, in order, the calls that outputs made before.
 * @param {{WebSocket: typeof WebSocket, fetch?: typeof fetch, location: {href: string},
 *          setTimeout?: typeof setTimeout, clearTimeout?: typeof clearTimeout}} win
 * @param {Boot} boot
 */
export function install(win, boot) {
  const root = new Root({
    config: boot.config,
    WebSocket: win.WebSocket,
    fetch: win.fetch ? win.fetch.bind(win) : undefined,
    location: win.location,
    setTimeout: win.setTimeout ? win.setTimeout.bind(win) : undefined,
    clearTimeout: win.clearTimeout ? win.clearTimeout.bind(win) : undefined,
  });
  boot.impl = root;
  for (const call of boot.queue.splice(0)) {
    guarded(console, `queued ${call.m}`, () => replay(root, call));
  }
  return root;
}

/** @param {Root} root @param {Queued} call */
function replay(root, call) {
  const { k, m, args, comm } = call;
  if (k === undefined) {
    comm.real[m](...args); // a call on a comm handed out before loading
  } else if (comm) {
    const [target_name, data, more, buffers] = args;
    const options = m === "open" ? more || {} : { metadata: more, buffers };
    const client = root.kernel(k);
    comm.real = client._open_comm(target_name, data, options.metadata, options.buffers, comm.comm_id);
    comm.attach?.(comm.real);
  } else if (m === "comm_info") {
    root.kernel(k).comm_info(...args).then(call.resolve, call.reject);
  } else {
    /** @type {any} */ (root.kernel(k))[m](...args);
  }
}
