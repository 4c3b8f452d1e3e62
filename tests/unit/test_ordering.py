"""A client's messages go out in its order across shells: fences before a change of shell."""

from __future__ import annotations

import logging

from jupyter_comm_bridge.kernel.ordering import Ordering

LOG = logging.getLogger("test-ordering")


class Kernel:
    """Records what was sent where; answers fences when told to."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []
        self.fences: list[tuple[str, str | None]] = []

    def send_fence(self, shell: str | None) -> str:
        fence_id = f"fence{len(self.fences)}"
        self.fences.append((fence_id, shell))
        self.sent.append((fence_id, shell))
        return fence_id

    def message(self, name: str, shell: str | None) -> tuple[object, str | None]:
        return (lambda: self.sent.append((name, shell))), shell


def test_messages_to_one_shell_go_at_once() -> None:
    kernel = Kernel()
    order = Ordering(kernel.send_fence, LOG)
    for i in range(3):
        send, shell = kernel.message(f"m{i}", "t")
        order.send("a", send, shell)  # type: ignore[arg-type]
    assert kernel.sent == [("m0", "t"), ("m1", "t"), ("m2", "t")]
    assert kernel.fences == []


def test_a_change_of_shell_waits_for_a_fence_and_keeps_later_messages_behind() -> None:
    kernel = Kernel()
    order = Ordering(kernel.send_fence, LOG)
    for name, shell in (("open1", "t1"), ("open2", "t2"), ("info", None), ("open3", "t1")):
        send, shell = kernel.message(name, shell)
        order.send("a", send, shell)  # type: ignore[arg-type]
    # open2 waits for a fence on t1; info and open3 wait behind it
    assert kernel.sent == [("open1", "t1"), ("fence0", "t1")]
    assert order.fence_replied("fence0")
    # open2 went; info (main shell) now waits for a fence on t2 (t1 is known handled)
    assert kernel.sent[2:] == [("open2", "t2"), ("fence1", "t2")]
    assert order.fence_replied("fence1")
    # info went; open3 (t1) waits for a fence on the main shell
    assert kernel.sent[4:] == [("info", None), ("fence2", None)]
    assert not order.fence_replied("a reply to something else")
    order.fence_replied("fence2")
    assert kernel.sent[-1] == ("open3", "t1")


def test_clients_do_not_wait_for_each_other() -> None:
    kernel = Kernel()
    order = Ordering(kernel.send_fence, LOG)
    for client, name, shell in (("a", "a1", "t1"), ("a", "a2", "t2"), ("b", "b1", "t2")):
        send, shell = kernel.message(name, shell)
        order.send(client, send, shell)  # type: ignore[arg-type]
    assert ("b1", "t2") in kernel.sent and ("a2", "t2") not in kernel.sent


def test_a_message_that_may_be_handled_on_another_shell_counts_for_both() -> None:
    """ipykernel's sticky routing: a comm_msg stamped for t1 but handled on the main shell."""
    kernel = Kernel()
    order = Ordering(kernel.send_fence, LOG)
    send, _ = kernel.message("msg", None)
    order.send("a", send, None, also=("t1",))
    send, _ = kernel.message("next", "t1")
    order.send("a", send, "t1")
    assert kernel.sent == [("msg", None), ("fence0", None)]


def test_a_forgotten_client_drops_what_waited() -> None:
    kernel = Kernel()
    order = Ordering(kernel.send_fence, LOG)
    for name, shell in (("m1", "t1"), ("m2", "t2")):
        send, shell = kernel.message(name, shell)
        order.send("a", send, shell)  # type: ignore[arg-type]
    order.forget("a")
    assert order.fence_replied("fence0")  # ours, but nobody waits any more
    assert ("m2", "t2") not in kernel.sent
