// @ts-check
/**
 * What the bootstrap (bootstrap.js) and the client share: `window.__pycomm_boot` and
 * the calls queued in it until the client has loaded. The bootstrap is injected into
 * outputs as a plain script and cannot import, so these are types only (for tsc):
 * nothing imports this module at run time.
 * @module boot
 */

/**
 * The page's Jupyter settings, read by the bootstrap from `#jupyter-config-data`
 * (JupyterLab, Notebook 7) or `<body data-base-url data-ws-url>` (classic pages).
 * @typedef {{baseUrl?: string, wsUrl?: string, token?: string}} PageConfig
 */

/**
 * A comm handed out before the client loaded. Its calls are queued until the
 * queued open is replayed; then `real` is the client's Comm and calls go to it.
 * @typedef {{
 *   comm_id: string,
 *   target_name: string,
 *   readonly closed: boolean,
 *   opened: Promise<void>,
 *   real?: import("./comm.js").Comm & {[method: string]: any},
 *   attach?: (real: import("./comm.js").Comm) => void,
 *   [method: string]: any,
 * }} StubComm
 */

/**
 * A call made before the client loaded, replayed in order by `install`.
 * With a `kernel_id`: a call of the per-kernel API (`method` is one of its methods;
 * `comm` is the stub handed out by new_comm/open, `resolve`/`reject` settle the
 * Promise handed out by comm_info). Without: a call on a stub comm.
 * @typedef {{
 *   kernel_id?: string,
 *   method: string,
 *   args: any[],
 *   comm?: StubComm,
 *   resolve?: (value: any) => void,
 *   reject?: (error: any) => void,
 * }} QueueEntry
 */

/**
 * `window.__pycomm_boot`, made by the first bootstrap of the page.
 * @typedef {{
 *   config: PageConfig,
 *   queue: QueueEntry[],
 *   impl: import("./pycomm.js").Root | null,
 *   current: string,
 *   kernels: Record<string, Record<string, any>>,
 *   loaded?: Promise<unknown>,
 *   widgets?: Promise<unknown>,
 * }} Boot
 * (`loaded`, the import of the client, is set once the first bootstrap has defined window.pycomm.)
 */

/** The window as the bootstrap uses it. @typedef {Window & typeof globalThis & {__pycomm_boot?: Boot, pycomm?: Record<string, any>}} BootWindow */

export {};
