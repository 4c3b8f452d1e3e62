/**
 * The Output widget: html-manager's OutputModel/OutputView, plus live capture. While the
 * kernel-side widget is in a `with out:` block its `msg_id` is that of the running request;
 * the server then sends this client the iopub outputs of that request, and pycomm hands them
 * here (WidgetHost's `capture`), as JupyterLab's widget manager does with message hooks.
 * @module output
 */

import { OutputModel as HTMLOutputModel, OutputView } from "@jupyter-widgets/html-manager/lib/output.js";

export { OutputView };

/** Message types that become outputs as they are. */
const OUTPUT_TYPES = ["stream", "display_data", "execute_result", "error"];

export class OutputModel extends HTMLOutputModel {
  /** @param {any} attributes @param {any} options */
  initialize(attributes, options) {
    super.initialize(attributes, options);
    /** The msg_id captured now ("" for none). */
    this._captured = "";
    /** @type {Map<string, number[]>} display_id -> indices of its outputs (update_display_data) */
    this._display_ids = new Map();
    /** @param {any} msg */
    this._on_output = (msg) => this.add(msg);
    this.on("change:msg_id", () => this._capture(this.get("msg_id")));
    this._capture(this.get("msg_id"));
  }

  /**
   * Capture from the `update` that sets msg_id itself, not from the change it makes later:
   * setting the state takes promises, and the outputs follow on the same websocket at once.
   * @param {any} msg
   */
  _handle_comm_msg(msg) {
    const data = msg.content.data;
    if (data?.method === "update" && data.state && "msg_id" in data.state) this._capture(data.state.msg_id);
    return super._handle_comm_msg(msg);
  }

  /** @param {string} msg_id the request to capture, "" for none */
  _capture(msg_id) {
    const host = this.widget_manager?.host;
    if (!host || (msg_id || "") === this._captured) return;
    if (this._captured) host.release(this._captured, this._on_output);
    this._captured = msg_id || "";
    if (this._captured) host.capture(this._captured, this._on_output);
  }

  /**
   * One captured iopub message: an output, a clear, or an update of a display.
   * @param {any} msg
   */
  add(msg) {
    const type = msg.header.msg_type;
    const content = msg.content;
    if (type === "clear_output") {
      this.clear_output(content.wait);
      this._display_ids.clear();
    } else if (type === "update_display_data") {
      const output = { ...content, output_type: "display_data" };
      for (const index of this._display_ids.get(content.transient?.display_id) || []) this.outputs.set(index, output);
    } else if (OUTPUT_TYPES.includes(type)) {
      const index = this.outputs.add({ ...content, output_type: type }) - 1;
      const display_id = type === "display_data" && content.transient?.display_id;
      if (display_id) this._display_ids.set(display_id, [...(this._display_ids.get(display_id) || []), index]);
    } else {
      return;
    }
    this.set("outputs", this.outputs.toJSON(), { newMessage: true });
    this.save_changes();
  }

  /** @param {boolean} [comm_closed] */
  close(comm_closed) {
    this._capture("");
    return super.close(comm_closed);
  }
}
