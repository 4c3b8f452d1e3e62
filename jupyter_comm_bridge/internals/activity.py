"""jupyter_server's activity watcher, from the header frames only.

Part of :mod:`jupyter_comm_bridge.internals`: what the extension relies on in jupyter_server
and tornado beyond their public APIs. Each helper names the internal it touches; the tests
marked ``server_internals`` run against the oldest and the newest jupyter_server admitted.
"""

from __future__ import annotations

import hmac
from typing import Any

from jupyter_server._tz import utcnow

from ..wire.kernel_frames import zmq_parts
from .iopub import IopubTap


def activity_by_reference(manager: Any, kernel: Any, tap: IopubTap) -> None:
    """``MappingKernelManager.start_watching_activity`` reads every iopub message of a
    kernel on a stream of its own (``kernel._activity_stream``), with copies, and fully
    deserializes each (dates parsed; ``status`` twice): a quarter of the server's time on
    comm traffic, on the way of every reply. Receive it with ``copy=False`` and record with
    :class:`ActivityRecord`; what that does not vouch for goes to jupyter_server's callback
    (pyzmq's ``_recv_callback``, kept as ``ActivityHook.original``), given what it expects
    (:func:`..wire.kernel_frames.zmq_parts`). Every message then goes on to ``tap``, the
    relay's iopub.
    Once per stream (a later call only points it at ``tap``); no-op if the internals are
    not there.
    """
    stream = getattr(kernel, "_activity_stream", None)
    callback = getattr(stream, "_recv_callback", None)
    if stream is None or callback is None or stream.closed():
        return
    tap.stream = stream
    if isinstance(callback, ActivityHook):
        callback.tap = tap
        return
    stream.on_recv(ActivityHook(ActivityRecord(manager, kernel), callback, tap), copy=False)


class ActivityHook:
    """The activity stream's callback: record the activity, then feed the relay's tap."""

    def __init__(self, activity: ActivityRecord, original: Any, tap: IopubTap) -> None:
        self.activity = activity
        #: jupyter_server's own callback, for what ``activity`` leaves to it.
        self.original = original
        self.tap = tap

    def __call__(self, frames: list[Any]) -> None:
        parts = zmq_parts(frames)
        if not self.activity.record(parts):
            self.original(parts)
        self.tap.feed(parts)


class ActivityRecord:
    """What jupyter_server's activity watcher records of one iopub message, from its header
    frames alone: ``last_activity`` (kernel and manager) and ``execution_state``.

    The rules are jupyter_server's own, in its two forms: up to 2.14 every message is
    activity and every ``status`` sets the state; from 2.15 (``track_message_type``) only
    tracked message types count, and only a status for a tracked request sets the state.
    ``tests/integration/test_activity.py`` checks both against jupyter_server's callback.
    The signature is checked; replays are not (they could only repeat a state). Unlike
    jupyter_server's, it logs nothing per message: at debug level that was 2 % of the
    server's time on comm traffic.
    """

    def __init__(self, manager: Any, kernel: Any) -> None:
        self.manager = manager
        self.kernel = kernel
        self.session = kernel.session
        self.track = getattr(manager, "track_message_type", None)

    def record(self, parts: list[Any]) -> bool:
        """Record one message (its ZMQ frames); False when it is left to jupyter_server."""
        session = self.session
        try:
            _, frames = session.feed_identities(parts)
            signature, header, parent, metadata, content = (bytes(f) for f in frames[:5])
            if session.auth is not None and not hmac.compare_digest(
                signature, session.sign([header, parent, metadata, content])
            ):
                return False
            msg_type = session.unpack(header)["msg_type"]
            parent_type = session.unpack(parent).get("msg_type")
            state = session.unpack(content)["execution_state"] if msg_type == "status" else None
        except (ValueError, TypeError, KeyError, AttributeError):
            return False  # jupyter_server's callback fails on it in its own way
        self._apply(msg_type, parent_type, state)
        return True

    def _apply(self, msg_type: str, parent_type: str | None, state: str | None) -> None:
        kernel, track = self.kernel, self.track
        if (
            track is None
            or track(msg_type)
            or track(parent_type)
            or (kernel.execution_state == "busy")
        ):
            self.manager.last_kernel_activity = kernel.last_activity = utcnow()
        if state is not None:
            if track is None or track(parent_type):
                kernel.execution_state = state
            elif kernel.execution_state == "starting" and state != "starting":
                kernel.execution_state = "idle"
