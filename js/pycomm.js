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
 * }} ClientOptions
 */

export const PROTOCOL = "v1.kernel.websocket.jupyter.org";
export const PROTOCOL_VERSION = "5.3";
/** Reconnection delays (ms), the last one repeated. */
export const BACKOFF = [250, 500, 1000, 2000, 4000, 8000, 10000];
/** Server close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Set([4000, 4004]);

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

  /** @param {Message} msg @internal */
  _handle_close(msg) {
    if (this.closed) return;
    this.closed = true;
    this._client._forget(this);
    const callback = this._on_close;
    if (callback) guarded(this._client.log, `on_close of comm ${this.comm_id}`, () => callback(msg));
  }
}

// --- KernelClient -------------------------------------------------------------

/** The pycomm API bound to one kernel, over one bridge websocket. */
export class KernelClient {
  /**
   * @param {string} kernel_id
   * @param {ClientOptions} options
   */
  constructor(kernel_id, options) {
    this.kernel_id = kernel_id;
    this.session_id = uuid();
    /** @type {Status} */
    this.status = "connecting";
    this.options = options;
    this.log = options.console || console;
    /** @type {Map<string, Comm>} */ this._comms = new Map();
    /** @type {Map<string, TargetCallback>} */ this._targets = new Map();
    /** @type {Map<string, Set<Listener>>} */ this._listeners = new Map();
    /** @type {Map<string, Comm>} */ this._shared = new Map();
    /** @type {Map<string, {resolve: (m: Message) => void, reject: (e: Error) => void}>} */
    this._requests = new Map();
    /** @type {Set<(status: Status) => void>} */ this._status_callbacks = new Set();
    /** @type {ArrayBuffer[]} */ this._outbox = [];
    /** @type {WebSocket | null} */ this._ws = null;
    this._attempt = 0;
    this._given_up = false;
    /** @type {(() => void) | null} */ this._resolve_ready = null;
    /** @type {((e: Error) => void) | null} */ this._reject_ready = null;
    /** @type {Promise<void>} Resolves when the bridge websocket is open. */
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
    const known = this._wants(target_name);
    this._targets.set(target_name, callback);
    if (!known) this._send_registration("register_target_request", target_name);
  }

  /** @param {string} target_name */
  unregister_target(target_name) {
    this._targets.delete(target_name);
    if (!this._wants(target_name)) this._send_registration("unregister_target_request", target_name);
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
    const known = this._wants(target_name);
    let set = this._listeners.get(target_name);
    if (!set) this._listeners.set(target_name, (set = new Set()));
    set.add(listener);
    if (!known) this._send_registration("register_target_request", target_name);
    return () => {
      set.delete(listener);
      if (!this._wants(target_name)) {
        this._send_registration("unregister_target_request", target_name);
      }
    };
  }

  /**
   * The kernel's open comms that this client may see, as `{comm_id: {target_name}}`.
   * @param {string} [target_name]
   * @returns {Promise<Record<string, {target_name: string}>>}
   */
  async comm_info(target_name) {
    const content = target_name === undefined ? {} : { target_name };
    const reply = await this._request("shell", "comm_info_request", content);
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

  // --- connection -------------------------------------------------------------

  /** Open the websocket (the Root calls this once; reconnects call it again). */
  connect() {
    const { config, location, WebSocket: Socket } = this.options;
    const ws = new Socket(bridgeUrl(config, this.kernel_id, this.session_id, location), [PROTOCOL]);
    ws.binaryType = "arraybuffer";
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this._on_open(ws);
    };
    ws.onmessage = (event) => this._on_frame(event.data);
    ws.onclose = (event) => {
      if (this._ws === ws) this._on_close(opened, event.code, event.reason);
    };
    this._ws = ws;
    this._set_status("connecting");
  }

  /** @param {WebSocket} ws @private */
  _on_open(ws) {
    this._attempt = 0;
    for (const target_name of this._wanted_targets()) {
      ws.send(encode(this._message("bridge", "register_target_request", { target_name })));
    }
    for (const frame of this._outbox.splice(0)) ws.send(frame);
    this._set_status("connected");
    this._resolve_ready?.();
  }

  /**
   * @param {boolean} opened
   * @param {number} code
   * @param {string} reason
   * @private
   */
  _on_close(opened, code, reason) {
    this._ws = null;
    // The bridge closes a departed client's comms in the kernel: they are gone.
    const why = reason || `the bridge connection closed (code ${code})`;
    for (const comm of [...this._comms.values()]) {
      comm._handle_close(this._local_message("comm_close", { comm_id: comm.comm_id, data: {} }, { reason: why }));
    }
    this._fail_requests(new Error(`pycomm: ${why}`));
    this._set_status("disconnected");
    if (FINAL_CLOSE_CODES.has(code)) {
      this._give_up(`kernel ${this.kernel_id}: ${why}`);
    } else if (opened) {
      this._retry();
    } else {
      this._kernel_exists().then((exists) =>
        exists === false
          ? this._give_up(`kernel ${this.kernel_id} does not exist (output from an earlier session?)`)
          : this._retry(),
      );
    }
  }

  /** @private */
  _retry() {
    if (this._given_up) return;
    const delay = BACKOFF[Math.min(this._attempt++, BACKOFF.length - 1)];
    (this.options.setTimeout || setTimeout)(() => this._given_up || this.connect(), delay);
  }

  /** @param {string} why @private */
  _give_up(why) {
    this._given_up = true;
    this._set_status("disconnected");
    this.log.error(`pycomm: ${why}; not reconnecting.`);
    this._reject_ready?.(new Error(`pycomm: ${why}`));
    this._outbox = [];
  }

  /** @returns {Promise<boolean | null>} null when it cannot be told. @private */
  async _kernel_exists() {
    const { fetch: get, config, location } = this.options;
    if (!get) return null;
    try {
      const headers = config.token ? { Authorization: `token ${config.token}` } : undefined;
      const response = await get(kernelApiUrl(config, this.kernel_id, location), { headers });
      return response.status === 404 ? false : response.ok ? true : null;
    } catch {
      return null;
    }
  }

  /** @param {Status} status @private */
  _set_status(status) {
    if (this.status === status) return;
    this.status = status;
    for (const callback of [...this._status_callbacks]) {
      guarded(this.log, "on_status callback", () => callback(status));
    }
  }

  // --- incoming -----------------------------------------------------------------

  /** @param {ArrayBuffer | string} data @private */
  _on_frame(data) {
    let msg;
    try {
      if (typeof data === "string") throw new Error("text frame on the v1 protocol");
      msg = decode(data);
    } catch (e) {
      this.log.error("pycomm: could not decode a message from the bridge:", e);
      return;
    }
    guarded(this.log, `handling ${msg.header.msg_type}`, () => this._dispatch(msg));
  }

  /** @param {Message} msg @private */
  _dispatch(msg) {
    const type = msg.header.msg_type;
    const comm = this._comms.get(msg.content.comm_id);
    if (msg.channel === "bridge") {
      if (type === "bridge_error") this._bridge_error(msg);
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
      this._send_message("comm_close", { comm_id, data: {} });
      return;
    }
    const comm = new Comm(this, comm_id, target_name);
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
    const error = new Error(`pycomm: ${ename}: ${evalue}`);
    const request = this._requests.get(msg.parent_header.msg_id);
    if (request) {
      this._requests.delete(msg.parent_header.msg_id);
      request.reject(error);
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
    return comm;
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

  /**
   * @param {string} channel
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @returns {Promise<Message>}
   * @private
   */
  _request(channel, msg_type, content) {
    const msg = this._message(channel, msg_type, content);
    return new Promise((resolve, reject) => {
      this._requests.set(msg.header.msg_id, { resolve, reject });
      this._send(msg);
    });
  }

  /** @param {Error} error @private */
  _fail_requests(error) {
    for (const request of this._requests.values()) request.reject(error);
    this._requests.clear();
  }

  /** @param {string} msg_type @param {string} target_name @private */
  _send_registration(msg_type, target_name) {
    // Registrations are not queued: every (re)connection registers all wanted targets.
    if (this._ws && this.status === "connected") {
      this._ws.send(encode(this._message("bridge", msg_type, { target_name })));
    }
  }

  /** @param {OutgoingMessage} msg @private */
  _send(msg) {
    const frame = encode(msg);
    if (this._ws && this.status === "connected") {
      this._ws.send(frame);
    } else if (this._given_up) {
      this.log.warn(`pycomm: kernel ${this.kernel_id} is disconnected; ${msg.header.msg_type} dropped`);
    } else {
      this._outbox.push(frame);
    }
  }

  /**
   * @param {string} channel
   * @param {string} msg_type
   * @param {Record<string, any>} content
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @returns {OutgoingMessage}
   * @private
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

  /** @private */
  _wanted_targets() {
    return new Set([...this._targets.keys(), ...[...this._listeners.keys()].filter((t) => this._wants(t))]);
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
 * @param {{WebSocket: typeof WebSocket, fetch?: typeof fetch, location: {href: string}}} win
 * @param {Boot} boot
 */
export function install(win, boot) {
  const root = new Root({
    config: boot.config,
    WebSocket: win.WebSocket,
    fetch: win.fetch ? win.fetch.bind(win) : undefined,
    location: win.location,
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
  } else if (m === "comm_info") {
    root.kernel(k).comm_info(...args).then(call.resolve, call.reject);
  } else {
    /** @type {any} */ (root.kernel(k))[m](...args);
  }
}
