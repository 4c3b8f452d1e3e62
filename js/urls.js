// @ts-check
/**
 * The server URLs the client talks to, built from the page's config.
 * @module urls
 */

import { BUFFER_FRAMES_PARAM, RESUMABLE_PARAM } from "./protocol.js";

/** @typedef {import("./boot.js").PageConfig} PageConfig */

/**
 * The bridge websocket URL of a kernel: from the page's wsUrl if it has one,
 * else its baseUrl, with ws:// or wss:// matching http:// or https://.
 * @param {PageConfig} config
 * @param {string} kernel_id
 * @param {string} session_id
 * @param {{href: string}} location
 */
export function bridgeUrl(config, kernel_id, session_id, location) {
  const page = new URL(location.href);
  const base = new URL(config.wsUrl || config.baseUrl || "/", page);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  if (base.protocol === "http:" || base.protocol === "https:") {
    base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  }
  const url = new URL(`comm-bridge/kernels/${encodeURIComponent(kernel_id)}/channels`, base);
  url.searchParams.set("session_id", session_id);
  url.searchParams.set(RESUMABLE_PARAM, "1"); // hello, acks and replay: see docs/protocol.md, Resuming
  url.searchParams.set(BUFFER_FRAMES_PARAM, "1"); // big buffers in ArrayBuffers of their own
  if (config.token) url.searchParams.set("token", config.token);
  return url.href;
}

/**
 * The absolute URL of `path` (relative, e.g. `api/kernels/x`) under the page's base URL; a
 * path that names another origin (`//host/x`, `https://...`) is refused.
 * @param {PageConfig} config
 * @param {string} path
 * @param {{href: string}} location
 */
export function serverUrl(config, path, location) {
  const base = new URL(config.baseUrl || "/", new URL(location.href));
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const url = new URL(path.replace(/^\/(?!\/)/, ""), base); // "/x" would leave the base URL
  if (url.origin !== base.origin) throw new Error(`pycomm: ${path} is not on the server`);
  return url.href;
}

/**
 * The REST URL of a kernel, to tell "no such kernel" from a network failure.
 * @param {PageConfig} config
 * @param {string} kernel_id
 * @param {{href: string}} location
 */
export function kernelApiUrl(config, kernel_id, location) {
  return serverUrl(config, `api/kernels/${encodeURIComponent(kernel_id)}`, location);
}

/**
 * The headers that authenticate a request to the server as the page's token does (pages
 * logged in by cookie have none: the cookie goes along).
 * @param {PageConfig} config
 * @returns {Record<string, string>}
 */
export function authHeaders(config) {
  return config.token ? { Authorization: `token ${config.token}` } : {};
}

/**
 * GET `path` under the page's base URL, authenticated as the page is (token and cookie).
 * @param {typeof fetch | undefined} get the page's fetch
 * @param {PageConfig} config
 * @param {string} path
 * @param {{href: string}} location
 * @param {AbortSignal} [signal]
 * @returns {Promise<Response>}
 */
export async function serverGet(get, config, path, location, signal) {
  if (!get) throw new Error("pycomm: this page has no fetch");
  const init = { headers: authHeaders(config), credentials: /** @type {const} */ ("same-origin"), signal };
  return get(serverUrl(config, path, location), init);
}

/**
 * Whether the kernel exists, asked of the REST API after a failed handshake.
 * @param {typeof fetch | undefined} get the page's fetch
 * @param {PageConfig} config
 * @param {string} kernel_id
 * @param {{href: string}} location
 * @param {number} timeout_ms
 * @returns {Promise<boolean | null>} null when it cannot be told
 */
export async function kernelExists(get, config, kernel_id, location, timeout_ms) {
  if (!get) return null;
  try {
    const path = `api/kernels/${encodeURIComponent(kernel_id)}`;
    const response = await serverGet(get, config, path, location, AbortSignal.timeout(timeout_ms));
    return response.status === 404 ? false : response.ok ? true : null;
  } catch {
    return null;
  }
}
