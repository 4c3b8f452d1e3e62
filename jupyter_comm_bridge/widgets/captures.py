"""Output widgets: what they capture of a cell's outputs.

An Output widget's ``msg_id`` (set by its ``update``) claims the outputs whose parent is that
execution: they go to the widget's clients instead of the page.
"""

from __future__ import annotations

from ..wire.message import Unpack, WireMessage

#: The iopub messages an Output widget captures.
OUTPUT_TYPES = frozenset(
    {"stream", "display_data", "update_display_data", "execute_result", "error", "clear_output"}
)


def is_output_model(msg: WireMessage, unpack: Unpack) -> bool:
    """Whether a ``comm_open`` creates an ipywidgets Output widget."""
    data = msg.content(unpack).get("data")
    state = data.get("state") if isinstance(data, dict) else None
    return (
        isinstance(state, dict)
        and state.get("_model_name") == "OutputModel"
        and state.get("_model_module") == "@jupyter-widgets/output"
    )


def output_msg_id(msg: WireMessage, unpack: Unpack) -> str | None:
    """The ``msg_id`` an Output widget's update sets ("" when it stops capturing)."""
    data = msg.content(unpack).get("data")
    if not isinstance(data, dict) or data.get("method") != "update":
        return None
    state = data.get("state")
    msg_id = state.get("msg_id") if isinstance(state, dict) else None
    return msg_id if isinstance(msg_id, str) else None


class Captures:
    """What Output widgets capture: parent msg_id -> the widget's comm.

    Kept once per feed of the kernel's iopub, from what that feed has seen, because each feed
    is in the kernel's order (an Output widget's update comes before the outputs it captures)
    and two feeds are not in step: a page connection's, for what its page must not show; the
    relay's, for what the widget's clients get (relay/to_clients.py).
    """

    def __init__(self) -> None:
        #: The comms of the Output widgets this connection has seen opened.
        self.outputs: set[str] = set()
        self.by_parent: dict[str, str] = {}

    def update(self, comm_id: str, msg_id: str) -> None:
        for parent, capturing in list(self.by_parent.items()):
            if capturing == comm_id:
                del self.by_parent[parent]
        if msg_id:
            self.by_parent[msg_id] = comm_id

    def note(self, msg: WireMessage, unpack: Unpack) -> None:
        """A widget comm message on its way to this connection's page."""
        comm_id = msg.comm_id(unpack)
        if comm_id is None:
            return
        if msg.msg_type == "comm_open":
            if is_output_model(msg, unpack):
                self.outputs.add(comm_id)
        elif comm_id in self.outputs:
            if msg.msg_type == "comm_close":
                self.outputs.discard(comm_id)
                self.update(comm_id, "")
            elif (msg_id := output_msg_id(msg, unpack)) is not None:
                self.update(comm_id, msg_id)

    def __bool__(self) -> bool:
        return bool(self.by_parent)
