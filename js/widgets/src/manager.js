/**
 * The widget manager of one pycomm KernelConnection: ipywidgets' own manager code
 * (html-manager's HTMLManager, on @jupyter-widgets/base-manager's ManagerBase), whose comms
 * are pycomm comms over the bridge instead of a JupyterLab kernel connection.
 * @module manager
 */

import { PROTOCOL_VERSION, uuid } from "@jupyter-widgets/base";
import { HTMLManager } from "@jupyter-widgets/html-manager/lib/htmlmanager.js";

import { ClassicComm } from "./classic_comm.js";
import { Displays } from "./displays.js";
import { typesetter } from "./latex.js";
import { loadClass, unsupported, UnsupportedModel, unsupportedView } from "./modules.js";

/**
 * @typedef {import("../../connection.js").KernelConnection} KernelConnection
 * @typedef {import("../../comm.js").Comm} Comm
 * @typedef {import("../../wire.js").Message} Message
 */

/** The comm target of widget models (one comm per model). */
export const WIDGET_TARGET = "jupyter.widget";

/**
 * HTMLManager gives the rendermime registry that Output widgets render with (widgets nested
 * in them included), `display_view` (a Lumino attach, an error view when a view fails) and
 * relayout on resize; ManagerBase the protocol: models from comm_open, `_loadFromKernel`.
 * This class supplies the comms, the comm info and the modules.
 */
export class BridgeWidgetManager extends HTMLManager {
  /** @param {KernelConnection} connection @param {Document} [doc] */
  constructor(connection, doc = document) {
    super();
    this.connection = connection;
    this.renderMime = this.renderMime.clone({ latexTypesetter: typesetter });
    /** controls' descriptions look for the typesetter here */
    this._rendermime = this.renderMime;
    this.displays = new Displays(this, doc);
    connection._watch_status(); // WidgetModel throttles its updates on the kernel's idle
    connection.register_target(WIDGET_TARGET, (comm, msg) => this._comm_opened(comm, msg));
    /** Resolves once the widgets the kernel had are loaded (ipywidgets' request_states). */
    this.loaded = connection.ready.then(() => this._loadFromKernel());
    this.loaded.catch((e) => console.warn("pycomm: could not load the kernel's widgets:", e));
    /** @type {Promise<void> | null} a load again, under way */ this._reloading = null;
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
   * The model; null when the kernel does not have it. One not known yet waits for the kernel's
   * widgets to load, then a little for its comm_open (it may be on its way), then for them to
   * load again (a new session may have lost it here while the kernel has it).
   * @param {string} model_id
   */
  async find_model(model_id) {
    if (!this.has_model(model_id)) await this.loaded.catch(() => {});
    const model = await this.get_model(model_id).catch(() => null); // (ManagerBase waits 2 s)
    if (model) return model;
    await this._reload();
    return this.has_model(model_id) ? this.get_model(model_id) : null;
  }

  /** Load the kernel's widgets again; one load for all who ask meanwhile. @returns {Promise<void>} */
  _reload() {
    this._reloading ??= this.connection.ready
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
   * `jupyter.widget.control`; else the kernel's comm `model_id`, which is open already.
   * @param {string} target_name
   * @param {string} [model_id]
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
   */
  async _create_comm(target_name, model_id, data, metadata, buffers) {
    const connection = this.connection;
    if (data === undefined && metadata === undefined && model_id) {
      return new ClassicComm(connection._adopt(model_id, target_name));
    }
    return new ClassicComm(connection._open_comm(target_name, data, metadata, buffers, model_id || uuid()));
  }

  /** The kernel's widget comms, as `{comm_id: {target_name}}`. */
  _get_comm_info() {
    return this.connection.comm_info(this.comm_target_name);
  }

  /**
   * @param {string} className
   * @param {string} moduleName
   * @param {string} moduleVersion
   */
  loadClass(className, moduleName, moduleVersion) {
    return loadClass(className, moduleName, moduleVersion);
  }

  /**
   * A model class; for a library not in the bundle, one that keeps the state (its views say why
   * they are not shown, instead of ManagerBase's "Click to show javascript error").
   * @param {string} className
   * @param {string} moduleName
   * @param {string} moduleVersion
   */
  loadModelClass(className, moduleName, moduleVersion) {
    if (unsupported(moduleName, moduleVersion)) return Promise.resolve(UnsupportedModel);
    return super.loadModelClass(className, moduleName, moduleVersion);
  }

  /**
   * @param {string} className
   * @param {string} moduleName
   * @param {string} moduleVersion
   */
  loadViewClass(className, moduleName, moduleVersion) {
    const why = unsupported(moduleName, moduleVersion);
    if (why) return Promise.resolve(unsupportedView(why));
    return super.loadViewClass(className, moduleName, moduleVersion);
  }
}
