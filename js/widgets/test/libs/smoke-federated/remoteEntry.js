// A federated JupyterLab extension's container, reduced to what webpack's do for a widget
// library (smoke.js loads it through the module loader): `init(shareScope)`, then
// `get("./extension")` consumes @jupyter-widgets/base, @lumino/widgets and another library,
// smoke-amd (its package.json: not bundled), from the share scope and gives a plugin that
// registers the widget module.
var _JUPYTERLAB;
(_JUPYTERLAB = typeof _JUPYTERLAB === "undefined" ? {} : _JUPYTERLAB)["smoke-federated"] = (() => {
  let scope = null;
  const consume = async (name) => {
    const versions = scope[name];
    if (!versions) throw new Error(`the share scope has no ${name}`);
    const factory = await versions[Object.keys(versions)[0]].get();
    return factory();
  };
  const plugin = (base, widgets, other) => ({
    id: "smoke-federated:plugin",
    requires: [base.IJupyterWidgetRegistry],
    activate(app, registry) {
      class FedModel extends base.DOMWidgetModel {}
      class FedView extends base.DOMWidgetView {
        render() {
          const show = () => (this.el.textContent =
            `federated:${this.model.get("value")} ${this.luminoWidget instanceof widgets.Widget} ${typeof other.SmokeView}`);
          show();
          this.listenTo(this.model, "change:value", show);
        }
      }
      registry.registerWidget({ name: "smoke-federated", version: "2.0.0", exports: async () => ({ FedModel, FedView }) });
    },
  });
  return {
    init(shareScope) {
      scope = shareScope;
    },
    async get(module) {
      if (module !== "./extension") throw new Error(`Module ${module} does not exist in container.`);
      const names = ["@jupyter-widgets/base", "@lumino/widgets", "smoke-amd"];
      const [base, widgets, other] = await Promise.all(names.map(consume));
      return () => ({ default: [plugin(base, widgets, other)] });
    },
  };
})();
