// The pycomm bootstrap. jupyter_comm_bridge puts it before the scripts of every
// output that uses `pycomm`, with the id of the kernel that produced the output.
// It marks the output with that kernel id, defines window.pycomm at once (calls
// are queued, and comms handed out, until the client module has loaded), and
// loads the client from the server once per page.
//
// A template, not a module: the server drops the lines that start with `//` and
// puts the kernel id, the client version and the output element (or null) in
// place of the placeholder on the last line. Other comments stay in every output,
// so the types (checked by tsc, from boot.js) are few and inline.
(/** @param {string} kernel_id @param {string} version @param {any} element */ (kernel_id, version, element) => {
  "use strict";
  const w = /** @type {import("./boot.js").BootWindow} */ (window);
  const doc = document;
  const own = element && element.jquery ? element[0] : element || doc.currentScript?.parentElement;
  own?.setAttribute?.("data-pycomm-kernel", kernel_id);
  let boot = w.__pycomm_boot;
  if (boot) {
    boot.current = kernel_id;
    return;
  }
  const METHODS = ["new_comm", "open", "register_target", "unregister_target", "send", "on", "comm_info", "on_status", "display_widget", "classic"];
  const readConfig = () => {
    const el = doc.getElementById("jupyter-config-data");
    if (el) {
      try {
        const c = JSON.parse(/** @type {string} */ (el.textContent));
        return { baseUrl: c.baseUrl, wsUrl: c.wsUrl, token: c.token };
      } catch (e) {
        console.warn("pycomm: unreadable #jupyter-config-data", e);
      }
    }
    // classic pages write these URL-encoded (a hub user "a@b" is "a%40b" there)
    const data = doc.body?.dataset || {};
    const decode = (/** @type {string} */ v) => { try { return decodeURIComponent(v); } catch { return v; } };
    return { baseUrl: decode(data.baseUrl || "/"), wsUrl: decode(data.wsUrl || ""), token: "" };
  };
  boot = w.__pycomm_boot = { queue: [], impl: null, current: kernel_id, config: readConfig(), kernels: {} };
  const uuid = () => "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (+c ^ (w.crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+c / 4)))).toString(16));
  const stubComm = (/** @type {string} */ target_name) => {
    const comm = /** @type {import("./boot.js").StubComm} */ ({ comm_id: uuid(), target_name });
    Object.defineProperty(comm, "closed", { get: () => Boolean(comm.real?.closed) });
    comm.opened = new Promise((resolve) => (comm.attach = resolve)).then((real) => real.opened);
    comm.opened.catch(() => {});
    for (const method of ["send", "on_msg", "on_close", "close"]) {
      comm[method] = (/** @type {any[]} */ ...args) => (comm.real ? comm.real[method](...args) : void boot.queue.push({ comm, method, args }));
    }
    return comm;
  };
  const call = (/** @type {string} */ kernel_id, /** @type {string} */ method, /** @type {any[]} */ args) => {
    if (boot.impl) return /** @type {any} */ (boot.impl.kernel(kernel_id))[method](...args);
    if (method === "new_comm" || method === "open") {
      const comm = stubComm(args[0]);
      boot.queue.push({ kernel_id, method, args, comm });
      return comm;
    }
    if (method === "comm_info" || method === "classic") return new Promise((resolve, reject) => boot.queue.push({ kernel_id, method, args, resolve, reject }));
    // a widget to show: download the widget code beside the client, but compile it only once
    // the client runs (its bridge connection opens meanwhile): the client's modules come first
    if (method === "display_widget") boot.widgets ??= w.fetch?.(new URL("widgets.js", src).href).catch(() => {});
    boot.queue.push({ kernel_id, method, args });
    return undefined;
  };
  const kernel = (/** @type {string} */ kernel_id) => {
    if (boot.kernels[kernel_id]) return boot.kernels[kernel_id];
    /** @type {Record<string, any>} */
    const api = (boot.kernels[kernel_id] = { kernel_id, kernel: (/** @type {string} */ id) => (id ? kernel(id) : api) });
    for (const method of METHODS) api[method] = (/** @type {any[]} */ ...args) => call(kernel_id, method, args);
    Object.defineProperty(api, "status", { get: () => (boot.impl ? boot.impl.kernel(kernel_id).status : "connecting") });
    Object.defineProperty(api, "ready", {
      get: () => /** @type {Promise<unknown>} */ (boot.loaded).then(() => (boot.impl ? boot.impl.kernel(kernel_id).ready : Promise.reject(new Error("pycomm: the client did not load")))),
    });
    return api;
  };
  // The kernel of the output whose script or event handler is running, else of the last output rendered.
  const here = () => {
    const el = /** @type {any} */ (doc.currentScript || w.event?.target);
    const marked = el?.closest?.("[data-pycomm-kernel]");
    return kernel(marked ? marked.getAttribute("data-pycomm-kernel") : boot.current);
  };
  /** @type {Record<string, any>} */
  const root = { kernel: (/** @type {string} */ id) => (id ? kernel(id) : here()) };
  for (const method of METHODS) root[method] = (/** @type {any[]} */ ...args) => here()[method](...args);
  Object.defineProperty(root, "status", { get: () => here().status });
  Object.defineProperty(root, "ready", { get: () => here().ready });
  w.pycomm = root;
  // The client's modules are served under a path with their version, so that they
  // import one another relatively and a new version is never mixed with a cached one.
  const base = new URL(boot.config.baseUrl || "/", w.location.href);
  const src = new URL("comm-bridge/client/" + encodeURIComponent(version) + "/pycomm.js", base.href.replace(/\/?$/, "/"));
  boot.loaded = import(src.href).then(
    (/** @type {import("./pycomm.js")} */ module) => module.install(w, boot),
    (e) => console.error("pycomm: could not load the client from " + src.href, e),
  );
// @ts-ignore: the server replaces the placeholder with the three arguments
})(__PYCOMM_ARGS__);
