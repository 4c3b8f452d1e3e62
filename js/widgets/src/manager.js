/**
 * The widget manager of one pycomm KernelConnection: ipywidgets' own manager code
 * (html-manager's HTMLManager, on @jupyter-widgets/base-manager's ManagerBase), whose comms
 * are pycomm comms over the bridge instead of a JupyterLab kernel connection. It uses the
 * connection through its WidgetHost (js/widget_host.js) only.
 * @module manager
 */

import { PROTOCOL_VERSION, uuid } from "@jupyter-widgets/base";
import { HTMLManager } from "@jupyter-widgets/html-manager/lib/htmlmanager.js";

import { ClassicComm } from "../../classic_comm.js";
import { Displays } from "./displays.js";
import { typesetter } from "./latex.js";
import { notShown } from "./libraries/loader.js";
import { loadClass, UnsupportedModel, unsupportedView } from "./modules.js";
import { withoutKnown } from "./states.js";

/**
 * @typedef {import("../../widget_host.js").WidgetHost} WidgetHost
 * @typedef {import("../../comm.js").Comm} Comm
 * @typedef {import("../../wire.js").Message} Message
 */

/** The comm target of widget models (one comm per model). */
export const WIDGET_TARGET = "jupyter.widget";
/** The comm target that answers with the kernel's widget states (`request_states`). */
export const CONTROL_TARGET = "jupyter.widget.control";
/** ms a widget shown before its comm_open waits for it, before the kernel is asked again. */
const OPEN_WAIT = 2000;
/** ms a view waits at most for the kernel's widgets to load (see `find_model`). */
const LOAD_WAIT = 2000;
/** ms a view waits at most for its model to have handled the messages it received. */
const HANDLED_WAIT = 2000;

/**
 * `promise`, or nothing once `ms` have passed.
 * @param {Promise<void>} promise
 * @param {number} ms
 */
function within(promise, ms) {
  /** @type {any} */ let timer;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * HTMLManager gives the rendermime registry that Output widgets render with (widgets nested
 * in them included), `display_view` (a Lumino attach, an error view when a view fails) and
 * relayout on resize; ManagerBase the protocol: models from comm_open, `_loadFromKernel`.
 * This class supplies the comms, the comm info and the modules.
 */
export class BridgeWidgetManager extends HTMLManager {
  /** @param {WidgetHost} host the connection's @param {Document} [doc] */
  constructor(host, doc = document) {
    super();
    this.host = host;
    this.renderMime = this.renderMime.clone({ latexTypesetter: typesetter });
    /** controls' descriptions look for the typesetter here */
    this._rendermime = this.renderMime;
    this.displays = new Displays(this, doc);
    host.watch_status(); // WidgetModel throttles its updates on the kernel's idle
    host.register_target(WIDGET_TARGET, (comm, msg) => this._comm_opened(comm, msg));
    /** Resolves once the widgets the kernel had are loaded (ipywidgets' request_states). */
    this.loaded = host.ready.then(() => this._loadFromKernel());
    this.loaded.catch((e) => console.warn("pycomm: could not load the kernel's widgets:", e));
    /** @type {Promise<void> | null} a load again, under way */ this._reloading = null;
    /** @type {Map<string, (() => void)[]>} who waits for a model to be registered */
    this._awaited = new Map();
  }

  /**
   * Show a view of `model_id` in `element`; a short message there when it cannot be.
   * @param {string} model_id
   * @param {Element} element
   */
  display_widget(model_id, element) {
    return this.displays.show(model_id, element);
  }

  /**
   * The model; null when the kernel does not have it. Waits (bounded) for the kernel's widgets
   * to load; one not known yet then waits for that load or its comm_open, then a little for its
   * comm_open (it may be on its way), then for them to load again (when the server ends our
   * client its comms close here, while the kernel keeps its models).
   * @param {string} model_id
   */
  async find_model(model_id) {
    // The load is a fence: the kernel answers it after what it sent before this output (an
    // update the view must not miss). It answers on its shell, after a cell still running (Deno's
    // may not answer at all): past LOAD_WAIT a model whose comm_open came goes on without it.
    await within(this.loaded.catch(() => {}), LOAD_WAIT);
    if (!this.has_model(model_id)) await this._registered(model_id, undefined, this.loaded);
    if (!this.has_model(model_id)) await this._registered(model_id, OPEN_WAIT);
    if (this.has_model(model_id)) return this.get_model(model_id);
    await this._reload();
    return this.has_model(model_id) ? this.get_model(model_id) : null;
  }

  /**
   * Resolves when `model_id` is registered, or after `ms`, or once `until` settles. (ManagerBase.
   * get_model polls every 100 ms: a widget displayed just before its comm_open arrived would wait
   * for the next poll.)
   * @param {string} model_id
   * @param {number} [ms]
   * @param {Promise<unknown>} [until]
   * @returns {Promise<void>}
   */
  _registered(model_id, ms, until) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const left = (this._awaited.get(model_id) ?? []).filter((d) => d !== done);
        if (left.length) this._awaited.set(model_id, left);
        else this._awaited.delete(model_id);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      until?.then(done, done);
      this._awaited.set(model_id, [...(this._awaited.get(model_id) ?? []), done]);
    });
  }

  /**
   * @param {string} model_id
   * @param {Promise<any>} modelPromise
   */
  register_model(model_id, modelPromise) {
    super.register_model(model_id, modelPromise);
    for (const done of this._awaited.get(model_id) ?? []) done();
  }

  /**
   * A view of `model`, made once the model has handled the messages its comm received so far
   * (bounded). JupyterLab handles a kernel's messages one after the other, each comm message
   * to its end, so a view there starts from the state of every update before it; here the
   * output that shows a widget can come while its updates are still being applied, and
   * anywidget's views drop their base class's listeners when they render (`model.off(null,
   * null, view)`): an update of `_dom_classes`, `layout` or `style` applied after the render
   * would never reach the view.
   * @param {any} model
   * @param {any} [options]
   */
  async create_view(model, options) {
    if (model.comm instanceof ClassicComm) await within(model.comm.handled(), HANDLED_WAIT);
    return super.create_view(model, options);
  }

  /**
   * The kernel's widgets, as ManagerBase loads them (request_states), and their comms adopted:
   * the bridge lets this page use a widget's comm once it has seen it open or a comm_info_reply
   * has listed it, and widgets made while the kernel had no relay (a Voila page's, made before
   * the page existed; a notebook's, run while no page was open) were never seen open. The kernel
   * answers the comm_info_request first: it is sent first, on the same shell.
   */
  async _loadFromKernel() {
    const adopted = this._get_comm_info();
    await super._loadFromKernel();
    await adopted.catch((/** @type {unknown} */ e) => console.warn("pycomm: no comm_info of the kernel's widgets:", e));
  }

  /** Load the kernel's widgets again; one load for all who ask meanwhile. @returns {Promise<void>} */
  _reload() {
    this._reloading ??= this.host.ready
      .then(() => this._loadFromKernel())
      .catch((e) => console.warn("pycomm: could not load the kernel's widgets:", e))
      .finally(() => (this._reloading = null));
    return this._reloading;
  }

  /**
   * A comm the kernel opened on `jupyter.widget`: a new model. Kernels that cannot send comm
   * metadata (IRkernel) send no protocol version: taken as this one.
   * @param {Comm} comm
   * @param {Message} msg
   */
  _comm_opened(comm, msg) {
    if (this.has_model(comm.comm_id)) return; // loaded from the kernel before its open arrived
    const metadata = msg.metadata?.version ? msg.metadata : { ...msg.metadata, version: PROTOCOL_VERSION };
    this.handle_comm_open(new ClassicComm(comm), { ...msg, metadata }).catch((e) =>
      console.error(`pycomm: widget ${comm.comm_id}:`, e));
  }

  /**
   * A comm for ManagerBase: a new one (opened from here) when it gives data, as for
   * `jupyter.widget.control` (whose states of models here already are dropped: states.js);
   * else the kernel's comm `model_id`, which is open already.
   * @param {string} target_name
   * @param {string} [model_id]
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
   */
  async _create_comm(target_name, model_id, data, metadata, buffers) {
    const host = this.host;
    if (data === undefined && metadata === undefined && model_id) {
      return new ClassicComm(host.adopt(model_id, target_name));
    }
    const comm = host.open_comm(target_name, data, metadata, buffers, model_id || uuid());
    if (target_name !== CONTROL_TARGET) return new ClassicComm(comm);
    return new ClassicComm(comm, (msg) => withoutKnown(msg, (id) => this.has_model(id)));
  }

  /** The kernel's widget comms, as `{comm_id: {target_name}}`. */
  _get_comm_info() {
    return this.host.comm_info(this.comm_target_name);
  }

  /**
   * A widget class: from the bundle, or from the module the server finds for the kernel.
   * @param {string} className
   * @param {string} moduleName
   * @param {string} moduleVersion
   */
  loadClass(className, moduleName, moduleVersion) {
    return loadClass(className, moduleName, moduleVersion, this.host);
  }

  /**
   * A model class; when its module cannot be loaded, one that keeps the state (its views say
   * why they are not shown, instead of ManagerBase's "Click to show javascript error").
   * @param {string} className
   * @param {string} moduleName
   * @param {string} moduleVersion
   */
  async loadModelClass(className, moduleName, moduleVersion) {
    try {
      return await this.loadClass(className, moduleName, moduleVersion);
    } catch {
      return UnsupportedModel; // its views say why
    }
  }

  /**
   * A view class; when its module cannot be loaded, one that shows why (the server's message
   * for a module it did not find, or the load's error).
   * @param {string} className
   * @param {string} moduleName
   * @param {string} moduleVersion
   */
  async loadViewClass(className, moduleName, moduleVersion) {
    try {
      return await this.loadClass(className, moduleName, moduleVersion);
    } catch (e) {
      return unsupportedView(notShown(e));
    }
  }
}
