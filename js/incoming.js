// @ts-check
/**
 * Incoming: what the bridge sends one connection, delivered to the connection's parts: comm
 * messages to their comms and to the targets' listeners, the kernel's comm_open to the targets,
 * iopub messages without comm_id to the parent routes, replies and the bridge's errors to what
 * they answer.
 * @module incoming
 */

import { BRIDGE_CHANNEL, ERROR, STATUS, WATCH_STATUS_REQUEST } from "./protocol.js";
import { guarded } from "./util.js";

/**
 * @typedef {import("./wire.js").Message} Message
 * @typedef {{resolve: (m: Message) => void, reject: (e: Error) => void}} Request  a request
 *   waiting for its reply on the shell channel (comm_info)
 */

/**
 * The parts of a connection that Incoming delivers to.
 * @typedef {object} Recipients
 * @property {string} kernel_id
 * @property {Pick<Console, "error" | "warn" | "info">} log
 * @property {import("./comm_table.js").CommTable} comms
 * @property {import("./targets.js").Targets} targets
 * @property {import("./parent_routes.js").ParentRoutes} routes
 * @property {Map<string, Request>} requests  by msg_id
 * @property {(comm_id: string) => void} refuse  close a comm the kernel opened, in the kernel
 */

export class Incoming {
  /** @param {Recipients} to */
  constructor(to) {
    /** @private */ this._to = to;
  }

  /** @param {Message} msg a message from the bridge */
  deliver(msg) {
    const { comms, targets, routes, requests, log } = this._to;
    const type = msg.header.msg_type;
    if (msg.channel === BRIDGE_CHANNEL) {
      if (type === ERROR) this._bridge_error(msg);
      if (type === STATUS) {
        const { kernel_connection, reason } = msg.content;
        log.info(`pycomm: kernel ${this._to.kernel_id}: ${kernel_connection}${reason ? ` (${reason})` : ""}`);
      }
    } else if (msg.channel === "iopub" && !("comm_id" in msg.content)) {
      routes.route(msg); // status, captured outputs
    } else if (type === "comm_open") {
      this._kernel_opened(msg);
    } else if (type === "comm_msg") {
      const comm = comms.get(msg.content.comm_id);
      comm?._handle_msg(msg);
      targets.notify(comm?.target_name, msg, log);
    } else if (type === "comm_close") {
      comms.closed_by_kernel(msg);
    }
    const request = requests.get(msg.parent_header.msg_id);
    if (request && msg.channel === "shell") {
      requests.delete(msg.parent_header.msg_id);
      request.resolve(msg);
    }
  }

  /** @param {Message} msg @private */
  _kernel_opened(msg) {
    const { comms, targets, log } = this._to;
    const { comm_id, target_name } = msg.content;
    const callback = targets.callbacks.get(target_name);
    const adopted = comms.get(comm_id); // known already (adopted): its open came late
    if (!adopted && !targets.wants(target_name)) {
      // unregistered while the open was on its way: refuse it, as Jupyter frontends do
      this._to.refuse(comm_id);
      return;
    }
    const comm = adopted || comms.adopt(comm_id, target_name);
    if (callback) guarded(log, `target ${target_name}`, () => callback(comm, msg));
    targets.notify(target_name, msg, log);
  }

  /** @param {Message} msg @private */
  _bridge_error(msg) {
    const { comms, routes, requests, log, kernel_id } = this._to;
    const { ename, evalue, msg_type, comm_id } = msg.content;
    const request = requests.get(msg.parent_header.msg_id);
    if (request) {
      requests.delete(msg.parent_header.msg_id);
      request.reject(new Error(`pycomm: ${ename}: ${evalue}`));
      return;
    }
    if (msg_type === WATCH_STATUS_REQUEST) return routes.refused(`kernel ${kernel_id}: ${ename}: ${evalue}`);
    routes.settle(msg.parent_header.msg_id, evalue); // a refused message has no status to wait for
    if (ename === "UnknownComm" && comms.crossed_close(comm_id)) {
      // sent as the kernel closed the comm (the close was on its way): not the caller's mistake
      log.warn(`pycomm: a ${msg_type} crossed the kernel's close of comm ${comm_id}: dropped`);
      return;
    }
    log.error(`pycomm: the bridge refused ${msg_type || "a message"}: ${ename}: ${evalue}`);
    if (msg_type === "comm_open") comms.close_here(comm_id, evalue);
  }
}
