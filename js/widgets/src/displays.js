/**
 * Where the widget views are: one record per `display_widget(model_id, element)`. A view lives
 * while its element is in the page. When the element leaves it (the cell ran again, the output
 * was cleared, or JupyterLab's windowing took the cell out of the DOM) the view is removed, so
 * nothing piles up; if the element comes back, a new view is made. Records hold their element
 * weakly: a removed output is garbage-collected, and its record goes with it.
 * @module displays
 */

import { MessageLoop } from "@lumino/messaging";
import { Widget } from "@lumino/widgets";

/** What an element says when its model is not (or no longer) in the kernel. */
export const GONE = "Widget not shown: the kernel no longer has this widget (it restarted, " +
  "or the widget was closed). Run the cell again to show it.";

/**
 * @typedef {{model_id: string, ref: WeakRef<Element>, state: "parked" | "attaching" | "shown",
 *            view: any, comm: any}} Display  one display_widget call
 * @typedef {{find_model(model_id: string): Promise<any>, create_view(model: any): Promise<any>,
 *            display_view(view: any, element: Element): Promise<void>}} Manager
 */

/**
 * Put a short message in `element`.
 * @param {Element} element
 * @param {string} text
 */
export function message(element, text) {
  element.textContent = text;
  element.classList.add("pycomm-widget-message");
}

/**
 * Remove a view. Its Lumino widget was attached to an element that may have left the page
 * already, and Lumino detaches only widgets whose node is in the page: then the detach
 * messages are sent here, and the node taken out, before the view goes.
 * @param {any} view
 */
export function removeView(view) {
  const widget = view.luminoWidget;
  if (widget?.isAttached && !widget.parent && !widget.node.isConnected) {
    MessageLoop.sendMessage(widget, Widget.Msg.BeforeDetach);
    widget.node.remove();
    MessageLoop.sendMessage(widget, Widget.Msg.AfterDetach);
  }
  view.remove();
}

export class Displays {
  /** @param {Manager} manager @param {Document} doc */
  constructor(manager, doc) {
    this.manager = manager;
    this.doc = doc;
    /** @type {Set<Display>} */ this.records = new Set();
    /** @type {MutationObserver | null} */ this.observer = null;
    this.scheduled = false;
  }

  /**
   * Show a view of `model_id` in `element` (another one if it has one already elsewhere).
   * @param {string} model_id
   * @param {Element} element
   */
  async show(model_id, element) {
    for (const record of this.records) if (record.ref.deref() === element) this._park(record, true);
    /** @type {Display} */
    const record = { model_id, ref: new WeakRef(element), state: "parked", view: null, comm: null };
    this.records.add(record);
    this._observe();
    await this._attach(record);
  }

  /** @param {Display} record @private */
  async _attach(record) {
    const element = record.ref.deref();
    if (!element?.isConnected || record.state !== "parked") return;
    record.state = "attaching";
    try {
      const model = await this.manager.find_model(record.model_id);
      if (!model) {
        console.warn(`pycomm: widget model ${record.model_id} is not in the kernel`);
        this.records.delete(record);
        return message(element, GONE);
      }
      const view = await this.manager.create_view(model);
      if (!element.isConnected || !this.records.has(record)) return this._drop_view(record, view);
      element.textContent = "";
      element.classList.remove("pycomm-widget-message");
      await this.manager.display_view(view, element);
      Object.assign(record, { state: "shown", view, comm: model.comm });
      view.once("remove", () => this._removed(record, view));
    } catch (e) {
      console.error(`pycomm: widget model ${record.model_id} could not be shown:`, e);
      this.records.delete(record);
      message(element, `Widget not shown: ${e}`);
    }
    this._schedule(); // the element may have gone meanwhile
  }

  /** @param {Display} record @param {any} view @private */
  _drop_view(record, view) {
    record.state = "parked";
    removeView(view);
  }

  /**
   * Remove the record's view (the element left the page), keeping the record to show it again
   * if the element comes back; `forget` drops the record too.
   * @param {Display} record
   * @param {boolean} [forget]
   * @private
   */
  _park(record, forget = false) {
    if (forget) this.records.delete(record);
    const view = record.view;
    Object.assign(record, { state: "parked", view: null });
    if (view) removeView(view);
  }

  /**
   * A view removed by its model (the kernel closed the widget, or the comm was lost here).
   * @param {Display} record
   * @param {any} view
   * @private
   */
  _removed(record, view) {
    if (record.view !== view) return; // removed here
    this.records.delete(record);
    const element = record.ref.deref();
    const reason = record.comm?.close_reason;
    if (element && reason) message(element, `Widget closed: ${reason}.`);
  }

  /** Check the records after the page's DOM changed. @private */
  _check() {
    this.scheduled = false;
    for (const record of [...this.records]) {
      const element = record.ref.deref();
      if (!element) this.records.delete(record);
      else if (record.state === "shown" && !element.isConnected) this._park(record);
      else if (record.state === "parked" && element.isConnected) this._attach(record);
    }
    if (!this.records.size) this.observer?.disconnect(), (this.observer = null);
  }

  /** @private */
  _schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => this._check(), 50); // after the page's own DOM moves (a cell moved: detached, attached)
  }

  /** @private */
  _observe() {
    if (this.observer) return;
    this.observer = new MutationObserver(() => this._schedule());
    this.observer.observe(this.doc.documentElement, { childList: true, subtree: true });
  }
}
