// An AMD widget library as an nbextension ships it (smoke.js loads it through the module
// loader): a model and a view on the bundle's @jupyter-widgets/base, and its own URL by `module`.
define(["@jupyter-widgets/base", "module"], function (base, module) {
  class SmokeModel extends base.DOMWidgetModel {}
  class SmokeView extends base.DOMWidgetView {
    render() {
      const show = () => (this.el.textContent = `amd:${this.model.get("value")} from ${module.uri}`);
      show();
      this.listenTo(this.model, "change:value", show);
    }
  }
  return { SmokeModel, SmokeView };
});
