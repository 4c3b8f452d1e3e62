/**
 * The kernel's widget states (ipywidgets' `request_states` on `jupyter.widget.control`), for
 * the models this page does not have yet.
 * @module states
 */

/**
 * @typedef {import("../../wire.js").Message} Message
 */

/**
 * The `update_states` reply without the states of the models `known` here. Those were made
 * from their comm_open and have had every message of their comm since (the server keeps a
 * widget's messages for the first page to register `jupyter.widget`); the reply is the state
 * when the kernel got to the request, after the cells it was running, and older than what
 * the page changed and sent since: ManagerBase would set it on them (a slider jumps back,
 * a jslink pushes the old value to its other end, an Output widget is emptied).
 * @param {Message} msg
 * @param {(model_id: string) => boolean} known
 * @returns {Message}
 */
export function withoutKnown(msg, known) {
  const data = msg.content?.data;
  if (data?.method !== "update_states" || !data.states || typeof data.states !== "object") return msg;
  const ids = Object.keys(data.states);
  const keep = ids.filter((id) => !known(id));
  if (keep.length === ids.length) return msg;
  /** @type {any[]} */ const buffer_paths = [];
  /** @type {any[]} */ const buffers = [];
  (data.buffer_paths || []).forEach((/** @type {any[]} */ path, /** @type {number} */ i) => {
    if (!known(path[0])) buffer_paths.push(path), buffers.push(msg.buffers?.[i]);
  });
  const states = Object.fromEntries(keep.map((id) => [id, data.states[id]]));
  return { ...msg, content: { ...msg.content, data: { ...data, states, buffer_paths } }, buffers };
}
