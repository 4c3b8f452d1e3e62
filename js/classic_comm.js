// @ts-check
/**
 * A pycomm `Comm` as the classic Notebook's comm object: what the widget manager
 * (@jupyter-widgets/base's `IClassicComm`) and code written for the classic Notebook
 * (classic.js) expect. Callbacks get the whole message, buffers as DataViews.
 * @module classic_comm
 */

/**
 * @typedef {import("./comm.js").Comm} Comm
 * @typedef {import("./wire.js").Message} Message
 * @typedef {{shell?: Record<string, (msg: Message) => void>,
 *            iopub?: Record<string, (msg: Message) => void>}} Callbacks  the classic callbacks
 *   of a message sent (ipywidgets' ICallbacks); `iopub.status` is the one a comm message gets
 */

/** Messages kept for a comm whose `on_msg` is not set yet (a widget whose class never loads). */
const EARLY_LIMIT = 4096;

export class ClassicComm {
  /**
   * @param {Comm} comm
   * @param {(msg: Message) => Message} [incoming] what the callbacks get of each message
   * @param {object | null} [kernel] `comm.kernel`, for classic code (classic.js's ClassicKernel)
   */
  constructor(comm, incoming, kernel = null) {
    this.comm = comm;
    this.incoming = incoming;
    this.kernel = kernel;
    /** Why the comm closed, when it was closed here (pycomm's `metadata.reason`); "" otherwise. */
    this.close_reason = "";
    /** @type {Promise<void>} @private */ this._handled = Promise.resolve();
    /**
     * Messages that came before `on_msg`: a widget model sets it only once its class has
     * loaded (a library's code may come over the network), and an update sent right after its
     * comm_open (ipympl's canvas gets its toolbar so) must not be lost meanwhile. JupyterLab
     * handles a kernel's messages one after the other for the same reason.
     * @type {Message[] | null} @private
     */
    this._early = [];
    comm.on_msg((msg) => {
      if (this._early && this._early.length < EARLY_LIMIT) this._early.push(msg);
    });
  }

  /**
   * Resolves once the callbacks have handled every message received so far: a widget model's
   * `_handle_comm_msg` returns a promise (anywidget's waits for the widget's ESM to load).
   * @returns {Promise<void>}
   */
  handled() {
    return this._handled;
  }

  get comm_id() {
    return this.comm.comm_id;
  }

  get target_name() {
    return this.comm.target_name;
  }

  /** The comm is open already (opened by `new_comm`, or by the kernel). @returns {string} */
  open() {
    return "";
  }

  /**
   * Send on the comm; `callbacks.iopub.status` gets the kernel's busy/idle of this message
   * (WidgetModel throttles its updates on them).
   * @param {any} data
   * @param {Callbacks} [callbacks]
   * @param {Record<string, any>} [metadata]
   * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
   * @returns {string} the msg_id
   */
  send(data, callbacks, metadata, buffers) {
    const status = callbacks?.iopub?.status;
    return this.comm._send(data, metadata, buffers, status && ((msg) => status(msg)));
  }

  /**
   * Close the comm, in the kernel too.
   * @param {any} [data]
   * @param {Callbacks} [callbacks]
   * @param {Record<string, any>} [metadata]
   * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
   * @returns {string}
   */
  close(data, callbacks, metadata, buffers) {
    if (!this.comm.closed) this.comm.close(data, metadata, buffers);
    return "";
  }

  /**
   * The messages that came before, in order, then each as it comes. Those that came before go
   * to `callback` once the current task is done: a model sets `on_msg` in its base class's
   * `initialize`, and its own listeners (ipycanvas' `msg:custom`) only after that returns.
   * @param {(msg: Message) => void} callback gets the whole message; buffers are DataViews
   */
  on_msg(callback) {
    const incoming = this.incoming;
    const handle = (/** @type {Message} */ msg) => {
      // (a failed update is reported by the model itself)
      const done = Promise.resolve(callback(incoming ? incoming(msg) : msg)).catch(() => {});
      this._handled = Promise.all([this._handled, done]).then(() => {});
    };
    const early = this._early;
    this._early = null;
    if (!early?.length) return this.comm.on_msg(handle);
    this.comm.on_msg((msg) => void early.push(msg)); // in order, behind those that came before
    queueMicrotask(() => {
      this.comm.on_msg(handle);
      for (const msg of early) handle(msg);
    });
  }

  /** @param {(msg: Message) => void} callback */
  on_close(callback) {
    this.comm.on_close((msg) => {
      this.close_reason = msg.metadata?.reason || "";
      callback(msg);
    });
  }
}
