// jupyter_comm_bridge in Voila pages. Voila writes a notebook's outputs into its page, so they
// never pass through the page's kernel connection, where the server puts the pycomm bootstrap
// into outputs. This plugin sends them to the server (comm-bridge/kernels/{id}/outputs) and
// puts back what comes back, before Voila renders them: pycomm outputs, code written for the
// classic Notebook and, when the bridge serves the widgets, widget views then work as in a
// JupyterLab page.
//
// A module federation container written by hand, as Voila loads one (loadComponent,
// createModule): `init` takes the share scope, `get("./extension")` the plugin. It shares
// nothing and requires no token, so it fits any Voila 0.5 page.
"use strict";
(() => {
  const OUTPUT = 'script[type="application/vnd.voila.cell-output+json"]';

  /** @returns {Record<string, any>} the page config Voila wrote */
  const pageConfig = () => {
    const el = document.getElementById("jupyter-config-data");
    try {
      return el ? JSON.parse(el.textContent || "{}") : {};
    } catch {
      return {};
    }
  };

  /** @param {string} name */
  const cookie = (name) => document.cookie.match("\\b" + name + "=([^;]*)\\b")?.[1] ?? "";

  /**
   * The page's output scripts, by cell, in order.
   * @returns {HTMLScriptElement[][]}
   */
  const outputsByCell = () => {
    /** @type {Map<Element | null, HTMLScriptElement[]>} */
    const cells = new Map();
    for (const el of /** @type {NodeListOf<HTMLScriptElement>} */ (document.querySelectorAll(OUTPUT))) {
      const cell = el.closest("[cell-index]");
      cells.set(cell, [...(cells.get(cell) ?? []), el]);
    }
    return [...cells.values()];
  };

  /**
   * Have the server put the bootstrap into the outputs that need it; rewrite those in place.
   * @param {string} url @param {HTMLScriptElement[][]} cells
   */
  const inject = async (url, cells) => {
    const body = JSON.stringify({ cells: cells.map((els) => els.map((el) => JSON.parse(el.textContent || "null"))) });
    // a Voila page has no _xsrf cookie: a GET of the same URL sets it
    if (!cookie("_xsrf")) await fetch(url, { credentials: "same-origin" });
    const headers = { "Content-Type": "application/json", "X-XSRFToken": cookie("_xsrf") };
    const response = await fetch(url, { method: "POST", body, headers, credentials: "same-origin" });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    /** @type {{cells: (Record<string, unknown> | null)[][]}} */
    const answer = await response.json();
    answer.cells.forEach((outputs, i) =>
      outputs.forEach((output, j) => {
        if (output) cells[i][j].textContent = JSON.stringify(output);
      }),
    );
  };

  /** Without Voila's widget manager, which did it, the page shuts its kernel down on leaving. */
  const shutdownOnLeave = (/** @type {string} */ baseUrl, /** @type {string} */ kernelId) => {
    window.addEventListener("beforeunload", () => {
      const data = new FormData();
      data.append("_xsrf", cookie("_xsrf"));
      navigator.sendBeacon(`${baseUrl}voila/api/shutdown/${kernelId}`, data);
    });
  };

  const plugin = {
    id: "jupyter-comm-bridge:voila",
    autoStart: true,
    activate: async () => {
      const config = pageConfig();
      const bridge = config.commBridge;
      if (!bridge) {
        console.info(
          "pycomm: this Voila has no comm bridge (the standalone voila app loads no server extension);" +
            " run the dashboard as `jupyter server --ServerApp.default_url=/voila/render/<notebook>`",
        );
        return;
      }
      const baseUrl = String(config.baseUrl || "/").replace(/\/?$/, "/");
      const kernelId = String(config.kernelId || "");
      if (!kernelId) return;
      if (bridge.widgets) shutdownOnLeave(baseUrl, kernelId);
      const cells = outputsByCell();
      if (!cells.length) return;
      const url = `${baseUrl}comm-bridge/kernels/${encodeURIComponent(kernelId)}/outputs`;
      try {
        await inject(url, cells);
      } catch (e) {
        console.error("pycomm: the server did not prepare this page's outputs", e);
      }
    },
  };

  const w = /** @type {any} */ (window);
  w._JUPYTERLAB = w._JUPYTERLAB || {};
  w._JUPYTERLAB["jupyter-comm-bridge"] = {
    init: () => {},
    get: (/** @type {string} */ module) =>
      module === "./extension"
        ? Promise.resolve(() => ({ __esModule: true, default: [plugin] }))
        : Promise.reject(new Error(`jupyter-comm-bridge has no module ${module}`)),
  };
})();
