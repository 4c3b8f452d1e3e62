// @ts-check
/**
 * The comm targets a page handles: its callbacks for comms the kernel opens, its
 * listeners, and which targets are registered for its client on the server.
 * @module targets
 */

import { guarded } from "./util.js";

/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {(comm: import("./comm.js").Comm, msg: Message) => void} TargetCallback
 * @typedef {(data: any, msg: Message) => void} Listener
 */

export class Targets {
  constructor() {
    /** @type {Map<string, TargetCallback>} */ this.callbacks = new Map();
    /** @type {Map<string, Set<Listener>>} */ this.listeners = new Map();
    /** @type {Set<string>} targets registered for our client on the server */
    this.registered = new Set();
  }

  /** A new client on the server (not a resumed one): it has no targets registered. */
  new_client() {
    this.registered.clear();
  }

  /** Whether comms of `target_name` are wanted here (a callback or a listener). @param {string} target_name */
  wants(target_name) {
    return this.callbacks.has(target_name) || (this.listeners.get(target_name)?.size ?? 0) > 0;
  }

  /** @param {string} target_name @param {Listener} listener @returns {() => void} removes it */
  listen(target_name, listener) {
    let set = this.listeners.get(target_name);
    if (!set) this.listeners.set(target_name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Call the listeners of `target_name` with the message's data.
   * @param {string | undefined} target_name
   * @param {Message} msg
   * @param {Pick<Console, "error">} log
   */
  notify(target_name, msg, log) {
    const listeners = target_name === undefined ? undefined : this.listeners.get(target_name);
    for (const listener of listeners ? [...listeners] : []) {
      guarded(log, `listener of ${target_name}`, () => listener(msg.content.data, msg));
    }
  }

  /**
   * The requests that bring the server up to date, unregistrations first; they
   * count as done.
   * @returns {["register_target_request" | "unregister_target_request", string][]}
   */
  changes() {
    /** @type {["register_target_request" | "unregister_target_request", string][]} */
    const out = [];
    for (const target_name of this.registered) {
      if (!this.wants(target_name)) {
        this.registered.delete(target_name);
        out.push(["unregister_target_request", target_name]);
      }
    }
    for (const target_name of [...this.callbacks.keys(), ...this.listeners.keys()]) {
      if (this.wants(target_name) && !this.registered.has(target_name)) {
        this.registered.add(target_name);
        out.push(["register_target_request", target_name]);
      }
    }
    return out;
  }
}
