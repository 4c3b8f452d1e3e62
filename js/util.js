// @ts-check
/** Small helpers of the client. @module util */

/** A random UUID (crypto.randomUUID is missing on plain-http pages). */
export function uuid() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Run a user callback; an error in it is logged and goes no further.
 * @param {Pick<Console, "error">} log
 * @param {string} where
 * @param {() => void} fn
 */
export function guarded(log, where, fn) {
  try {
    fn();
  } catch (e) {
    log.error(`pycomm: error in ${where}:`, e);
  }
}
