// A fake bridge and kernel for the browser smoke test (smoke.py): a WebSocket class that
// pycomm's KernelConnection connects with, answering as jupyter_comm_bridge and ipykernel
// with ipywidgets 8 would: hello, target registration, status watch, comm_info, the widget
// control comm (request_states), busy/idle and echo_update for every comm message.
import { decode, encode } from "/client/wire.js";

let counter = 0;

export class FakeKernel {
  constructor() {
    /** @type {FakeBridgeSocket | null} */ this.socket = null;
    /** comm_id -> {target_name, state?} */ this.comms = new Map();
    /** what the page sent on widget comms: [comm_id, data] */ this.received = [];
    this.watching = false;
    /** ms the kernel takes to handle a comm message (before its idle) */ this.busy_ms = 0;
  }

  /** A widget that exists before the page connects (found by request_states). */
  widget(comm_id, state) {
    this.comms.set(comm_id, { target_name: "jupyter.widget", state });
  }

  /** A message from the kernel (iopub unless told). */
  send(msg_type, content, { channel = "iopub", parent = {}, metadata = {}, buffers = [] } = {}) {
    const header = { msg_id: `kernel-${++counter}`, msg_type, session: "kernel", username: "", date: "", version: "5.3" };
    this.socket.receive({ channel, header, parent_header: parent, metadata, content, buffers });
  }

  /** The kernel creates a widget while the page is connected. */
  open_widget(comm_id, state, metadata = { version: "2.1.0" }) {
    this.comms.set(comm_id, { target_name: "jupyter.widget", state });
    this.send("comm_open", { comm_id, target_name: "jupyter.widget", data: { state, buffer_paths: [] } }, { metadata });
  }

  update(comm_id, state, parent = {}) {
    Object.assign(this.comms.get(comm_id).state, state);
    this.send("comm_msg", { comm_id, data: { method: "update", state, buffer_paths: [] } }, { parent });
  }

  /** What the page's socket sent. */
  handle(msg) {
    const type = msg.header.msg_type;
    const reply = (msg_type, content, channel) => this.send(msg_type, content, { channel, parent: msg.header });
    if (msg.channel === "bridge") {
      if (type === "watch_status_request") this.watching = true;
      if (type.endsWith("_request")) reply(type.replace(/_request$/, "_reply"), { status: "ok", ...msg.content }, "bridge");
      return;
    }
    const done = () => this.watching && reply("status", { execution_state: "idle" }, "iopub");
    if (this.watching) reply("status", { execution_state: "busy" }, "iopub");
    if (type === "comm_info_request") {
      const comms = {};
      for (const [id, c] of this.comms) if (!msg.content.target_name || c.target_name === msg.content.target_name) comms[id] = { target_name: c.target_name };
      reply("comm_info_reply", { status: "ok", comms }, "shell");
    } else if (type === "comm_open") {
      this.comms.set(msg.content.comm_id, { target_name: msg.content.target_name });
    } else if (type === "comm_close") {
      this.comms.delete(msg.content.comm_id);
    } else if (type === "comm_msg") {
      return this.comm_msg(msg, reply, done);
    }
    done();
  }

  comm_msg(msg, reply, done) {
    const { comm_id, data } = msg.content;
    const comm = this.comms.get(comm_id);
    if (comm?.target_name === "jupyter.widget.control" && data.method === "request_states") {
      const states = {};
      for (const [id, c] of this.comms) {
        if (c.state) states[id] = { model_name: c.state._model_name, model_module: c.state._model_module, model_module_version: c.state._model_module_version, state: c.state };
      }
      reply("comm_msg", { comm_id, data: { method: "update_states", states, buffer_paths: [] } }, "iopub");
      return done();
    }
    this.received.push([comm_id, data]);
    if (data.method === "update" && comm?.state) {
      Object.assign(comm.state, data.state);
      reply("comm_msg", { comm_id, data: { method: "echo_update", state: data.state, buffer_paths: [] } }, "iopub");
    }
    setTimeout(done, this.busy_ms);
  }
}

/** The WebSocket class for KernelConnection's options: every socket talks to `kernel`. */
export function socketClass(kernel) {
  return class FakeBridgeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      kernel.socket = this;
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
        this.receive({ channel: "bridge", header: { msg_id: "hello", msg_type: "bridge_hello" }, parent_header: {}, metadata: {},
          content: { session_id: "s", resumed: false, received: 0, heartbeat: 600, reconnect_window: 30 }, buffers: [] });
      }, 0);
    }
    send(frame) {
      const msg = decode(frame);
      if (msg.header.msg_type !== "bridge_ack") setTimeout(() => kernel.handle(msg), 0);
    }
    receive(msg) {
      this.onmessage?.({ data: encode(msg) });
    }
    close() {}
  };
}
