// The pycomm bootstrap. jupyter_comm_bridge puts it before the scripts of every
// output that uses `pycomm`, with the id of the kernel that produced the output.
// It marks the output with that kernel id, defines window.pycomm at once (calls
// are queued, and comms handed out, until the client module has loaded), and
// loads the client from the server once per page. Comment lines are stripped
// before injection; the server fills in the arguments on the last line.
((kernelId, version, element) => {
  "use strict";
  const w = window;
  const doc = document;
  const own = element && element.jquery ? element[0] : element || doc.currentScript?.parentElement;
  own?.setAttribute?.("data-pycomm-kernel", kernelId);
  let boot = w.__pycomm_boot;
  if (boot) {
    boot.current = kernelId;
    return;
  }
  const METHODS = ["new_comm", "open", "register_target", "unregister_target", "send", "on", "comm_info", "on_status"];
  const readConfig = () => {
    const el = doc.getElementById("jupyter-config-data");
    if (el) {
      try {
        const c = JSON.parse(el.textContent);
        return { baseUrl: c.baseUrl, wsUrl: c.wsUrl, token: c.token };
      } catch (e) {
        console.warn("pycomm: unreadable #jupyter-config-data", e);
      }
    }
    // classic pages write these URL-encoded (a hub user "a@b" is "a%40b" there)
    const data = doc.body?.dataset || {};
    const decode = (v) => { try { return decodeURIComponent(v); } catch { return v; } };
    return { baseUrl: decode(data.baseUrl || "/"), wsUrl: decode(data.wsUrl || ""), token: "" };
  };
  boot = w.__pycomm_boot = { queue: [], impl: null, current: kernelId, config: readConfig(), kernels: {} };
  const uuid = () => "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (w.crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
  const stubComm = (target_name) => {
    const comm = { comm_id: uuid(), target_name };
    Object.defineProperty(comm, "closed", { get: () => Boolean(comm.real?.closed) });
    comm.opened = new Promise((resolve) => (comm.attach = resolve)).then((real) => real.opened);
    comm.opened.catch(() => {});
    for (const m of ["send", "on_msg", "on_close", "close"]) {
      comm[m] = (...args) => (comm.real ? comm.real[m](...args) : void boot.queue.push({ comm, m, args }));
    }
    return comm;
  };
  const call = (k, m, args) => {
    if (boot.impl) return boot.impl.kernel(k)[m](...args);
    if (m === "new_comm" || m === "open") {
      const comm = stubComm(args[0]);
      boot.queue.push({ k, m, args, comm });
      return comm;
    }
    if (m === "comm_info") return new Promise((resolve, reject) => boot.queue.push({ k, m, args, resolve, reject }));
    boot.queue.push({ k, m, args });
    return undefined;
  };
  const kernel = (k) => {
    if (boot.kernels[k]) return boot.kernels[k];
    const api = (boot.kernels[k] = { kernel_id: k, kernel: (id) => (id ? kernel(id) : api) });
    for (const m of METHODS) api[m] = (...args) => call(k, m, args);
    Object.defineProperty(api, "status", { get: () => (boot.impl ? boot.impl.kernel(k).status : "connecting") });
    Object.defineProperty(api, "ready", {
      get: () => boot.loaded.then(() => (boot.impl ? boot.impl.kernel(k).ready : Promise.reject(new Error("pycomm: the client did not load")))),
    });
    return api;
  };
  // The kernel of the output whose script or event handler is running, else of the last output rendered.
  const here = () => {
    const el = doc.currentScript || w.event?.target;
    const marked = el?.closest?.("[data-pycomm-kernel]");
    return kernel(marked ? marked.getAttribute("data-pycomm-kernel") : boot.current);
  };
  const root = { kernel: (id) => (id ? kernel(id) : here()) };
  for (const m of METHODS) root[m] = (...args) => here()[m](...args);
  Object.defineProperty(root, "status", { get: () => here().status });
  Object.defineProperty(root, "ready", { get: () => here().ready });
  w.pycomm = root;
  const base = new URL(boot.config.baseUrl || "/", w.location.href);
  const src = new URL("static/jupyter_comm_bridge/pycomm.js?v=" + encodeURIComponent(version), base.href.replace(/\/?$/, "/"));
  boot.loaded = import(src.href).then(
    (module) => module.install(w, boot),
    (e) => console.error("pycomm: could not load the client from " + src.href, e),
  );
})(__PYCOMM_ARGS__);
