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
 * The REST URL of a kernel, to tell "no such kernel" from a network failure.
 * @param {PageConfig} config
 * @param {string} kernel_id
 * @param {{href: string}} location
 */
export function kernelApiUrl(config, kernel_id, location) {
  const base = new URL(config.baseUrl || "/", new URL(location.href));
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  return new URL(`api/kernels/${encodeURIComponent(kernel_id)}`, base).href;
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
    const headers = config.token ? { Authorization: `token ${config.token}` } : undefined;
    const signal = AbortSignal.timeout(timeout_ms);
    const response = await get(kernelApiUrl(config, kernel_id, location), { headers, signal });
    return response.status === 404 ? false : response.ok ? true : null;
  } catch {
    return null;
  }
}
