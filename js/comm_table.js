// @ts-check
/**
 * CommTable: the comms of one connection by comm_id (opened from the page, opened by the
 * kernel, or adopted: open in the kernel already), the page's shared comm of each target,
 * and the comms the kernel closed lately.
 * @module comm_table
 */

import { Comm } from "./comm.js";
import { uuid } from "./util.js";

/** How many comms closed by the kernel a table remembers (see `crossed_close`). */
const KERNEL_CLOSED_LIMIT = 256;
/** ms a page-opened comm waits for the kernel to confirm it (comm_info) before `opened` rejects. */
export const OPEN_CHECK = 10000;

/**
 * @typedef {import("./comm.js").CommHost} CommHost
 * @typedef {import("./wire.js").Message} Message
 * @typedef {import("./wire.js").BufferLike} BufferLike
 * @typedef {{
 *   open_check?: number,
 *   setTimeout?: (fn: () => void, ms: number) => any,
 *   clearTimeout?: (handle: any) => void,
 * }} OpenOptions  how long a page-opened comm waits for the kernel's confirmation, on which timers
 */

export class CommTable {
  /** @param {CommHost} host what the comms send and log with @param {OpenOptions} options */
  constructor(host, options) {
    /** @private */ this._host = host;
    /** @private */ this._options = options;
    /** @type {Map<string, Comm>} @private */ this._comms = new Map();
    /** @type {Map<string, Comm>} @private */ this._shared = new Map();
    /** Comms the kernel closed lately (a message sent meanwhile is refused: that is no error).
     * @type {Set<string>} @private */ this._kernel_closed = new Set();
  }

  /** @param {string} comm_id */
  get(comm_id) {
    return this._comms.get(comm_id);
  }

  /** The ids of the comms open now. */
  ids() {
    return new Set(this._comms.keys());
  }

  /**
   * Open a comm from the page: send its comm_open, then ask the kernel whether it opened it.
   * @param {string} target_name
   * @param {any} [data]
   * @param {Record<string, any>} [metadata]
   * @param {BufferLike[]} [buffers]
   * @param {string} [comm_id] a new one without
   */
  open(target_name, data, metadata, buffers, comm_id = uuid()) {
    if (typeof target_name !== "string" || !target_name) {
      throw new TypeError("pycomm: target_name must be a non-empty string");
    }
    const comm = new Comm(this._host, comm_id, target_name);
    this._comms.set(comm_id, comm);
    const content = { comm_id, target_name, data: data === undefined ? {} : data };
    this._host.send("comm_open", content, metadata, buffers);
    comm._check_open(this._options.open_check ?? OPEN_CHECK, this._options);
    return comm;
  }

  /** A Comm for a comm the kernel has open (sends no comm_open), or the one known.
   * @param {string} comm_id @param {string} target_name */
  adopt(comm_id, target_name) {
    const known = this._comms.get(comm_id);
    if (known) return known;
    const comm = new Comm(this._host, comm_id, target_name);
    comm._settle(null);
    this._comms.set(comm_id, comm);
    return comm;
  }

  /** The page's shared comm of `target_name` (pycomm.send), opened on first use.
   * @param {string} target_name */
  shared(target_name) {
    let comm = this._shared.get(target_name);
    if (!comm || comm.closed) {
      comm = this.open(target_name, {});
      this._shared.set(target_name, comm);
    }
    return comm;
  }

  /** The comm is closed: drop it. @param {Comm} comm */
  forget(comm) {
    this._comms.delete(comm.comm_id);
    if (this._shared.get(comm.target_name) === comm) this._shared.delete(comm.target_name);
  }

  /** The kernel closed a comm (its comm_close): close it here, and remember that a while.
   * @param {Message} msg */
  closed_by_kernel(msg) {
    const comm_id = msg.content.comm_id;
    this._kernel_closed.add(comm_id);
    const oldest = this._kernel_closed.values().next().value;
    if (this._kernel_closed.size > KERNEL_CLOSED_LIMIT && oldest !== undefined) this._kernel_closed.delete(oldest);
    this._comms.get(comm_id)?._handle_close(msg);
  }

  /** Whether the kernel closed `comm_id` lately: a message sent meanwhile crossed its close.
   * @param {string} comm_id */
  crossed_close(comm_id) {
    return this._kernel_closed.has(comm_id);
  }

  /**
   * Close a comm here only (the kernel does not have it: gone with our client on the server,
   * or never opened); `reason` goes in the close's metadata.
   * @param {string} comm_id @param {string} reason
   */
  close_here(comm_id, reason) {
    const comm = this._comms.get(comm_id);
    if (comm) this._close_here(comm, reason);
  }

  /**
   * `close_here` every comm, or those of `only`.
   * @param {string} reason @param {Set<string>} [only]
   */
  close_all_here(reason, only) {
    for (const comm of [...this._comms.values()]) {
      if (!only || only.has(comm.comm_id)) this._close_here(comm, reason);
    }
  }

  /** @param {Comm} comm @param {string} reason @private */
  _close_here(comm, reason) {
    const content = { comm_id: comm.comm_id, data: {} };
    comm._handle_close(this._host.local("comm_close", content, { reason }));
  }
}
