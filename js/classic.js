// @ts-check
/**
 * The classic Notebook's `Jupyter` object (alias `IPython`) for code in an output that was
 * written against it, over a pycomm KernelConnection: `notebook.kernel.comm_manager` with
 * classic comms, and the few notebook and keyboard-manager calls that libraries make around
 * them (matplotlib's nbagg). The server binds the names for such outputs only
 * (jupyter_comm_bridge/classic.py); on a real classic Notebook page the page's own object is
 * given. What JupyterLab does not let output code do (execute code, select cells, mark the
 * notebook dirty) is a no-op or a clear error, never an exception on every frame.
 * @module classic
 */

import { ClassicComm } from "./classic_comm.js";
import { guarded } from "./util.js";

/**
 * @typedef {import("./connection.js").KernelConnection} KernelConnection
 * @typedef {import("./comm.js").Comm} Comm
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./wire.js").BufferLike} BufferLike
 * @typedef {(comm: ClassicComm, msg: Message) => any} ClassicTarget
 * @typedef {{setTimeout: (fn: () => void, ms: number) => any, clearTimeout: (handle: any) => void,
 *            requestAnimationFrame?: (fn: () => void) => any}} Timers
 */

/** WebSocket `readyState` values. */
const OPEN = 1;
const CLOSED = 3;
/** ms a kernel-opened comm waits at most for the page to render what came before its open. */
const RENDER_WAIT = 100;

/**
 * The kernel's websocket as classic code reads it (`comm.kernel.ws`): nbagg takes
 * `binaryType` as "binary frames work" and follows `readyState` through open/close events.
 * Messages go through pycomm, which reconnects without loss: the socket is open until
 * pycomm gives up.
 */
export class KernelSocket extends EventTarget {
  /** @param {KernelConnection} connection */
  constructor(connection) {
    super();
    this.binaryType = "arraybuffer";
    /** @private */ this._connection = connection;
    connection.on_status((status) => {
      if (status !== "connecting") this.dispatchEvent(new Event(status === "connected" ? "open" : "close"));
    });
  }

  get readyState() {
    return this._connection.status === "disconnected" ? CLOSED : OPEN;
  }
}

/** `Jupyter.notebook.kernel`: its comm manager and websocket. */
export class ClassicKernel {
  /** @param {KernelConnection} connection @param {Timers} timers */
  constructor(connection, timers) {
    this.id = connection.kernel_id;
    this.connection = connection;
    this.ws = new KernelSocket(connection);
    this.comm_manager = new CommManager(this, timers);
  }

  is_connected() {
    return this.connection.status === "connected";
  }

  /** The bridge carries comms only. @returns {never} */
  execute() {
    throw new Error("pycomm: Jupyter.notebook.kernel.execute is not available in this page: " +
      "jupyter_comm_bridge carries comms only (use a comm, or a widget)");
  }
}

/** `Jupyter.notebook.kernel.comm_manager`. */
export class CommManager {
  /** @param {ClassicKernel} kernel @param {Timers} timers */
  constructor(kernel, timers) {
    this.kernel = kernel;
    /** @type {Record<string, ClassicTarget>} */ this.targets = {};
    /** @private */ this._timers = timers;
  }

  /**
   * Call `f(comm, msg)` for each comm the kernel opens for `target_name`.
   * @param {string} target_name @param {ClassicTarget} f
   */
  register_target(target_name, f) {
    if (typeof f !== "function") throw new TypeError(`pycomm: the target ${target_name} needs a function`);
    this.targets[target_name] = f;
    this.kernel.connection.register_target(target_name, (comm, msg) => this._opened(f, comm, msg));
  }

  /** @param {string} target_name @param {ClassicTarget} [_f] */
  unregister_target(target_name, _f) {
    delete this.targets[target_name];
    this.kernel.connection.unregister_target(target_name);
  }

  /**
   * Open a comm from the page (the classic signature; `callbacks` of the open are not called).
   * @param {string} target_name @param {any} [data] @param {any} [_callbacks]
   * @param {Record<string, any>} [metadata] @param {string} [comm_id] @param {BufferLike[]} [buffers]
   */
  new_comm(target_name, data, _callbacks, metadata, comm_id, buffers) {
    const comm = this.kernel.connection.open_comm(target_name, data, metadata, buffers, comm_id || undefined);
    return new ClassicComm(comm, undefined, this.kernel);
  }

  /**
   * A kernel-opened comm. The classic Notebook got outputs and comm_open on one socket; here
   * the page's outputs come on its own connection and may not be rendered yet (nbagg looks
   * up its figure's `<div>` at once): give the page a frame, holding what the comm receives.
   * @param {ClassicTarget} f @param {Comm} comm @param {Message} msg @private
   */
  _opened(f, comm, msg) {
    /** @type {Message[]} */ const received = [];
    /** @type {Message | null} */ let closed = null;
    comm.on_msg((m) => received.push(m));
    comm.on_close((m) => (closed = m));
    this._after_render(() => {
      const classic = new ClassicComm(comm, undefined, this.kernel);
      guarded(this.kernel.connection.log, `target ${comm.target_name}`, () => f(classic, msg));
      for (const m of received) comm._handle_msg(m);
      if (closed) comm._replay_close(closed);
    });
  }

  /** @param {() => void} then @private */
  _after_render(then) {
    const { setTimeout: later, clearTimeout: cancel, requestAnimationFrame: frame } = this._timers;
    let done = false;
    const go = () => {
      if (done) return;
      done = true;
      cancel(fallback);
      then();
    };
    const fallback = later(go, RENDER_WAIT); // no frames in a hidden tab
    if (frame) frame(() => later(go, 0));
  }
}

/**
 * `element`, as jQuery code finds it: `on`/`off` (the classic output area's "cleared" event:
 * its outputs were removed), `get`, `[0]`.
 */
export class ElementList {
  /** @param {Element} node */
  constructor(node) {
    /** @type {HTMLElement} */ this[0] = /** @type {HTMLElement} */ (node);
    this.length = 1;
    this.jquery = "pycomm";
    /** @type {Map<Function, () => void>} @private */ this._off = new Map();
  }

  /** @param {number} [i] */
  get(i) {
    return i === undefined ? [this[0]] : this[0];
  }

  /**
   * @param {string} type @param {any} data_or_handler @param {Function} [handler]
   * @returns {this}
   */
  on(type, data_or_handler, handler) {
    const node = this[0];
    const data = handler ? data_or_handler : undefined;
    const fn = handler || data_or_handler;
    /** @param {Event | {type: string, target: Node}} event */
    const call = (event) => fn.call(node, Object.assign(event, { data }));
    if (type === "cleared") {
      const observer = new MutationObserver((records) => {
        if (records.some((r) => r.removedNodes.length)) call({ type, target: node });
      });
      observer.observe(node, { childList: true });
      this._off.set(fn, () => observer.disconnect());
    } else {
      node.addEventListener(type, call);
      this._off.set(fn, () => node.removeEventListener(type, call));
    }
    return this;
  }

  /** @param {string} _type @param {Function} [handler] (all of them without) @returns {this} */
  off(_type, handler) {
    for (const [fn, off] of [...this._off]) {
      if (handler && fn !== handler) continue;
      off();
      this._off.delete(fn);
    }
    return this;
  }
}

/**
 * The outputs of an output area as the classic notebook model had them. The page does not
 * give output code its model: each output's `text/html` is the source the server kept
 * (classic.py) where it did, else the rendered HTML.
 * @param {HTMLElement} area
 */
export function outputsOf(area) {
  const nodes = area.querySelectorAll(":scope > .jp-OutputArea-child .jp-OutputArea-output");
  return Array.from(nodes, (node) => {
    const kept = node.querySelector("script[data-pycomm-html]");
    let html = node.innerHTML;
    if (kept) {
      try {
        html = JSON.parse(kept.textContent || "");
      } catch {} // (not ours: keep the rendered HTML)
    }
    return { output_type: "display_data", data: { "text/html": html }, metadata: {} };
  });
}

/** A code or markdown cell as classic code finds it: `cell_type`, `element`, `output_area`. */
export class Cell {
  /** @param {HTMLElement} node */
  constructor(node) {
    this.cell_type = node.classList.contains("jp-CodeCell") ? "code"
      : node.classList.contains("jp-MarkdownCell") ? "markdown" : "raw";
    this.element = new ElementList(node);
    this.metadata = {};
    const area = /** @type {HTMLElement | null} */ (node.querySelector(".jp-OutputArea"));
    this.output_area = area && {
      element: new ElementList(area),
      get outputs() {
        return outputsOf(area);
      },
    };
  }
}

/** The keyboard manager: keys typed in elements registered here are not notebook shortcuts. */
export const keyboard_manager = Object.freeze({
  enabled: true,
  enable() {},
  disable() {},
  command_mode() {},
  edit_mode() {},
  handle_keydown() {
    return true;
  },
  /** @param {any} el an element, or a jQuery-like list of them */
  register_events(el) {
    const nodes = el && typeof el.length === "number" && !el.setAttribute ? Array.from(el) : [el];
    for (const node of nodes) node?.setAttribute?.("data-lm-suppress-shortcuts", "true");
  },
});

/** `Jupyter.notebook` for the notebook that holds one output. */
export class Notebook {
  /** @param {ClassicKernel} kernel @param {Element | null} element the output's */
  constructor(kernel, element) {
    this.kernel = kernel;
    this.keyboard_manager = keyboard_manager;
    /** @private */ this._element = element;
    /** @type {WeakMap<Element, Cell>} @private */ this._cells = new WeakMap();
  }

  /** The notebook's cells, the same objects each time. */
  get_cells() {
    const doc = this._element?.ownerDocument || globalThis.document;
    const notebook = this._element?.closest(".jp-Notebook") || doc?.querySelector(".jp-Notebook");
    if (!notebook) return [];
    return Array.from(notebook.querySelectorAll(".jp-Cell"), (node) => {
      let cell = this._cells.get(node);
      if (!cell) this._cells.set(node, (cell = new Cell(/** @type {HTMLElement} */ (node))));
      return cell;
    });
  }

  /** @param {number} index */
  get_cell(index) {
    return this.get_cells()[index] || null;
  }

  ncells() {
    return this.get_cells().length;
  }

  /** @param {Cell} cell */
  find_cell_index(cell) {
    return this.get_cells().indexOf(cell);
  }

  /** The page owns the selection and the saved state: nothing to do. */
  select() {
    return this;
  }

  set_dirty() {}
}

/**
 * The `Jupyter` object for the code of one output.
 * @param {ClassicKernel} kernel
 * @param {any} element the output's element (a jQuery list on classic pages), or null
 */
export function classicNames(kernel, element) {
  const node = element && element.jquery ? element[0] : element;
  const notebook = new Notebook(kernel, typeof node?.closest === "function" ? node : null);
  return { notebook, keyboard_manager, version: "pycomm" };
}

/** Each connection's ClassicKernel, made on first use: every output's comms share it.
 * @type {WeakMap<KernelConnection, ClassicKernel>} */
const kernels = new WeakMap();

/**
 * The classic Notebook's `Jupyter` object for the code of an output written against it (the
 * server binds it for those outputs: `KernelConnection.classic`). On a classic Notebook page,
 * the page's own.
 * @param {KernelConnection} connection
 * @param {any} element the output's element, or null
 * @returns {Record<string, any>}
 */
export function classicJupyter(connection, element) {
  const page = /** @type {any} */ (globalThis).Jupyter;
  if (page?.notebook?.kernel) return page;
  let kernel = kernels.get(connection);
  if (!kernel) {
    const { options } = connection;
    const timers = {
      setTimeout: options.setTimeout || setTimeout,
      clearTimeout: options.clearTimeout || clearTimeout,
      requestAnimationFrame: globalThis.requestAnimationFrame?.bind(globalThis),
    };
    kernels.set(connection, (kernel = new ClassicKernel(connection, timers)));
  }
  return classicNames(kernel, element);
}
