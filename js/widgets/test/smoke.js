// The browser smoke test of the widget bundle (run by smoke.py): pycomm's KernelConnection
// with the built dist/widgets.js, against a fake bridge and kernel (fake_kernel.js).
import { KernelConnection, loadWidgets } from "/client/pycomm.js";

import { FakeKernel, socketClass } from "./fake_kernel.js";

const results = [];
const check = (name, ok, detail = "") => results.push({ name, ok: Boolean(ok), detail: String(detail) });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(fn, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value || Date.now() > end) return value;
    await sleep(20);
  }
}
const ctl = (name, extra = {}) => ({
  _model_module: "@jupyter-widgets/controls", _model_module_version: "2.0.0", _model_name: `${name}Model`,
  _view_module: "@jupyter-widgets/controls", _view_module_version: "2.0.0", _view_name: `${name}View`, ...extra,
});
const LAYOUT = {
  _model_module: "@jupyter-widgets/base", _model_module_version: "2.0.0", _model_name: "LayoutModel",
  _view_module: "@jupyter-widgets/base", _view_module_version: "2.0.0", _view_name: "LayoutView",
};
const ESM = "export default { render({ model, el }) { const show = () => { el.textContent = 'any:' + model.get('count'); };" +
  " show(); model.on('change:count', show); el.onclick = () => { model.set('count', model.get('count') + 1); model.save_changes(); }; } }";

// the server's module finder (docs/widget-modules.md), answered here; the files from test/libs/
const FOUND = {
  "smoke-amd": { module: "smoke-amd", version: "1.0.0", format: "amd", source: "kernel", base: "test/libs/smoke-amd/", entry: "index.js" },
  "smoke-federated": {
    module: "smoke-federated", version: "2.0.0", format: "federated", source: "kernel",
    base: "test/libs/smoke-federated/", entry: "remoteEntry.js", extension: "./extension",
  },
};
const finderAsked = [];
async function fetchWithFinder(url, init) {
  const match = /\/comm-bridge\/widgets\/kernels\/k-smoke\/modules\/([^?]+)\?version=(.*)$/.exec(url);
  if (!match) return fetch(url, init);
  const [module, range] = [decodeURIComponent(match[1]), decodeURIComponent(match[2])];
  finderAsked.push(`${module} ${range}`);
  const found = FOUND[module];
  const body = found ?? {
    module, version: range, looked: [{ source: "kernel", where: "/venv/share/jupyter", found: null, why: "not there" }],
    message: `${module} ${range} is not in the kernel's environment: install it there, or set CommBridgeApp.widget_cdn.`,
  };
  return new Response(JSON.stringify(body), { status: found ? 200 : 404, headers: { "Content-Type": "application/json" } });
}
const lib = (module, version, model, view, extra = {}) => ({
  _model_module: module, _model_module_version: version, _model_name: model,
  _view_module: module, _view_module_version: version, _view_name: view, ...extra,
});

function output_element() {
  const el = document.createElement("div");
  el.className = "pycomm-widget";
  document.getElementById("outputs").append(el);
  return el;
}

async function run() {
  const mod = await import("/client/widgets.js");
  check("the bundle exports create_manager, BridgeWidgetManager, loadClass",
    ["create_manager", "BridgeWidgetManager", "loadClass"].every((n) => typeof mod[n] === "function"), Object.keys(mod));
  const shared = mod.SHARED_PACKAGES ?? {};
  check("the share scope's packages: ipywidgets' modules and @lumino's, with versions",
    ["@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output", "@lumino/widgets", "@lumino/coreutils"]
      .every((n) => /^\d+\.\d+\.\d+/.test(shared[n] ?? "")), JSON.stringify(shared));
  check("importing the bundle adds no CSS", !document.getElementById("pycomm-widgets-style"));

  const kernel = new FakeKernel();
  kernel.widget("layout-1", { ...LAYOUT });
  kernel.widget("style-1", ctl("SliderStyle", { _view_module: "@jupyter-widgets/base", _view_module_version: "2.0.0", _view_name: "StyleView" }));
  kernel.widget("slider-1", ctl("IntSlider", { value: 3, min: 0, max: 10, step: 1, description: "x", layout: "IPY_MODEL_layout-1", style: "IPY_MODEL_style-1" }));
  const connection = new KernelConnection("k-smoke", { config: { baseUrl: "/", token: "" }, WebSocket: socketClass(kernel), location: window.location, widgets: loadWidgets, fetch: fetchWithFinder });
  connection.connect();

  // a widget the kernel had before the page connected
  const a = output_element();
  await connection.display_widget("slider-1", a);
  const manager = await connection._widgets;
  check("one <style> with the widgets' CSS and Font Awesome", document.querySelectorAll("#pycomm-widgets-style").length === 1 &&
    /Font Awesome 5 Free/.test(document.getElementById("pycomm-widgets-style").textContent));
  check("the slider renders, from request_states", await until(() => a.querySelector(".widget-slider .widget-readout")), a.innerHTML.slice(0, 200));
  check("its readout shows the kernel's value", a.querySelector(".widget-readout")?.textContent === "3", a.querySelector(".widget-readout")?.textContent);
  check("the status watch was asked for", kernel.watching);

  // kernel -> page
  kernel.update("slider-1", { value: 7 });
  check("a kernel update reaches the view", await until(() => a.querySelector(".widget-readout")?.textContent === "7"));

  // page -> kernel, throttled on the kernel's idle
  const model = await manager.get_model("slider-1");
  kernel.busy_ms = 300;
  kernel.received.length = 0;
  for (const v of [4, 5, 6]) { model.set("value", v); model.save_changes(); }
  await until(() => kernel.received.length >= 2, 2000);
  const values = kernel.received.filter(([id]) => id === "slider-1").map(([, d]) => d.state?.value);
  check("changes go to the kernel, throttled on idle: the first, then the last", JSON.stringify(values) === "[4,6]", JSON.stringify(values));
  kernel.busy_ms = 0;

  // two views of one model, both synced; an element that leaves the page loses its view
  const b = output_element();
  await connection.display_widget("slider-1", b);
  kernel.update("slider-1", { value: 9 });
  check("two views of one model, both synced", await until(() => a.querySelector(".widget-readout")?.textContent === "9" && b.querySelector(".widget-readout")?.textContent === "9"));
  const count = () => Object.keys(model.views).length;
  check("two views in the model", count() === 2, count());
  b.remove();
  check("a view whose element left the page is removed", await until(() => count() === 1), count());
  document.getElementById("outputs").append(b);
  check("and made again when it comes back", await until(() => count() === 2 && b.querySelector(".widget-readout")), count());
  b.remove();
  await until(() => count() === 1);

  // a widget the kernel opens while the page is connected; without protocol metadata too
  kernel.open_widget("button-1", ctl("Button", { description: "Go", icon: "check" }), {});
  const c = output_element();
  await connection.display_widget("button-1", c);
  const button = await until(() => c.querySelector("button.jupyter-button"));
  check("a live comm_open (no metadata.version) renders", button?.textContent.includes("Go"), c.innerHTML.slice(0, 200));
  const icon = c.querySelector("i.fa-check");
  check("Font Awesome icons have their font", icon && getComputedStyle(icon, "::before").fontFamily.includes("Font Awesome 5 Free"), icon && getComputedStyle(icon, "::before").fontFamily);
  button?.click();
  check("a click reaches the kernel", await until(() => kernel.received.some(([id, d]) => id === "button-1" && d.content?.event === "click")));

  // anywidget
  kernel.open_widget("any-1", {
    _model_module: "anywidget", _model_module_version: "~0.11.*", _model_name: "AnyModel",
    _view_module: "anywidget", _view_module_version: "~0.11.*", _view_name: "AnyView",
    _esm: ESM, _css: ".any-x { color: red }", _anywidget_id: "smoke.Counter", count: 5,
  });
  const d = output_element();
  await connection.display_widget("any-1", d);
  check("an anywidget renders its _esm", await until(() => d.textContent.includes("any:5")), d.innerHTML.slice(0, 200));
  kernel.update("any-1", { count: 6 });
  check("and follows the kernel", await until(() => d.textContent.includes("any:6")), d.textContent);
  d.querySelector(".lm-Widget, div")?.click?.();
  (await until(() => d.querySelector("div:not(.pycomm-widget)")))?.click();
  check("and sends to it", await until(() => kernel.received.some(([id, dd]) => id === "any-1" && dd.state?.count === 7)), JSON.stringify(kernel.received.filter(([id]) => id === "any-1")));

  // the Output widget captures what the kernel sends for its msg_id
  kernel.open_widget("out-1", {
    _model_module: "@jupyter-widgets/output", _model_module_version: "1.0.0", _model_name: "OutputModel",
    _view_module: "@jupyter-widgets/output", _view_module_version: "1.0.0", _view_name: "OutputView", msg_id: "", outputs: [],
  });
  const e = output_element();
  await connection.display_widget("out-1", e);
  await until(() => e.querySelector(".widget-output"));
  kernel.update("out-1", { msg_id: "cell-1" });
  const parent = { msg_id: "cell-1" };
  kernel.send("stream", { name: "stdout", text: "hello from the cell\n" }, { parent });
  kernel.send("display_data", { data: { "text/plain": "shown 1" }, metadata: {}, transient: { display_id: "d1" } }, { parent });
  kernel.send("update_display_data", { data: { "text/plain": "shown 2" }, metadata: {}, transient: { display_id: "d1" } }, { parent });
  check("an Output widget shows what its msg_id produces", await until(() => e.textContent.includes("hello from the cell") && e.textContent.includes("shown 2")), e.textContent);
  kernel.widget("inner-1", ctl("Button", { description: "Inner" }));  // created in the cell: its open comes first
  kernel.send("comm_open", { comm_id: "inner-1", target_name: "jupyter.widget", data: { state: kernel.comms.get("inner-1").state, buffer_paths: [] } }, { metadata: { version: "2.1.0" }, parent });
  kernel.send("display_data", { data: { "application/vnd.jupyter.widget-view+json": { version_major: 2, version_minor: 1, model_id: "inner-1" }, "text/plain": "Button()" }, metadata: {} }, { parent });
  check("a widget displayed in an Output widget renders there", await until(() => e.querySelector("button.jupyter-button")?.textContent.includes("Inner")), e.innerHTML.slice(0, 300));
  kernel.send("clear_output", { wait: false }, { parent });
  check("and clears", await until(() => !e.textContent.includes("hello")), e.textContent);
  kernel.update("out-1", { msg_id: "" });
  await sleep(50);
  kernel.send("stream", { name: "stdout", text: "after\n" }, { parent });
  await sleep(100);
  check("and stops capturing when msg_id is unset", !e.textContent.includes("after"), e.textContent);
  check("its outputs go back to the kernel", kernel.received.some(([id, dd]) => id === "out-1" && Array.isArray(dd.state?.outputs)));

  // a box: child models by reference
  kernel.open_widget("label-1", ctl("Label", { value: "left" }));
  kernel.open_widget("label-2", ctl("Label", { value: "right" }));
  kernel.open_widget("box-1", ctl("HBox", { children: ["IPY_MODEL_label-1", "IPY_MODEL_label-2"] }));
  const box = output_element();
  await connection.display_widget("box-1", box);
  check("a box shows its children", await until(() => /left[\s\S]*right/.test(box.textContent)), box.textContent);

  // HTMLMath without MathJax: the TeX shows as text
  kernel.open_widget("math-1", ctl("HTMLMath", { value: "area $x^2$" }));
  const f = output_element();
  await connection.display_widget("math-1", f);
  check("HTMLMath without MathJax shows the TeX as text", await until(() => f.textContent.includes("area $x^2$")), f.textContent);

  // a library the server does not find: its message, and the model keeps its state
  kernel.open_widget("bq-1", lib("bqplot", "^0.6.0", "FigureModel", "Figure", { title: "kept" }));
  const g = output_element();
  await connection.display_widget("bq-1", g);
  check("a library the server does not find: its view shows the server's message",
    await until(() => g.textContent === "bqplot ^0.6.0 is not in the kernel's environment: install it there, or set CommBridgeApp.widget_cdn."),
    g.textContent.slice(0, 300));
  check("and its model keeps the kernel's state", (await manager.get_model("bq-1")).get("title") === "kept");

  // libraries the server finds: an AMD nbextension, a federated labextension
  kernel.open_widget("amd-1", lib("smoke-amd", "^1.0.0", "SmokeModel", "SmokeView", { value: 1 }));
  kernel.open_widget("amd-2", lib("smoke-amd", "^1.0.0", "SmokeModel", "SmokeView", { value: 2 }));
  const [m1, m2] = [output_element(), output_element()];
  await Promise.all([connection.display_widget("amd-1", m1), connection.display_widget("amd-2", m2)]);
  const amdUri = new URL("/test/libs/smoke-amd/index.js", location.href).href;
  check("an AMD library renders, with its own URL as module.uri", await until(() => m1.textContent === `amd:1 from ${amdUri}`), m1.textContent);
  kernel.update("amd-1", { value: 5 });
  check("and follows the kernel", await until(() => m1.textContent.startsWith("amd:5") && m2.textContent.startsWith("amd:2")), m1.textContent + m2.textContent);
  kernel.open_widget("fed-1", lib("smoke-federated", "^2.0.0", "FedModel", "FedView", { value: 3 }));
  const fe = output_element();
  await connection.display_widget("fed-1", fe);
  check("a federated library renders: its base and Lumino are the bundle's, the library it needs the AMD one",
    await until(() => fe.textContent === "federated:3 true function"), fe.textContent);
  check("the server was asked once per module and range", JSON.stringify(finderAsked.sort()) ===
    JSON.stringify(["bqplot ^0.6.0", "smoke-amd *", "smoke-amd ^1.0.0", "smoke-federated ^2.0.0"]), JSON.stringify(finderAsked));
  check("the page's define and require are not touched", typeof window.define === "undefined" && typeof window.require === "undefined");

  // a model the kernel no longer has
  const h = output_element();
  await connection.display_widget("no-such-model", h);
  check("an unknown model: a short message", /no longer has this widget/.test(h.textContent), h.textContent);

  // a widget the kernel has, whose comm_open this page never got: loaded again
  kernel.widget("late-1", ctl("Label", { value: "late label" }));
  const l = output_element();
  await connection.display_widget("late-1", l);
  check("a model the page missed is loaded again from the kernel", await until(() => l.textContent.includes("late label")), l.textContent);

  // closed here with a reason (pycomm: a kernel restart, a lost client): the element says so
  kernel.send("comm_close", { comm_id: "slider-1", data: {} }, { metadata: { reason: "the kernel restarted" } });
  check("a widget closed with a reason says why", await until(() => a.textContent === "Widget closed: the kernel restarted."), a.textContent);

  // the kernel closes a widget: its views go
  kernel.send("comm_close", { comm_id: "button-1", data: {} });
  check("a widget the kernel closes disappears", await until(() => !c.querySelector("button")), c.innerHTML.slice(0, 100));
  check("the CSS is still in the page once", document.querySelectorAll("style#pycomm-widgets-style").length === 1);
}

run().then(
  () => (window.__smoke = { results }),
  (e) => (window.__smoke = { results, error: `${e?.stack || e}` }),
);
