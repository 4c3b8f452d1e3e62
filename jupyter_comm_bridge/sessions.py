"""The client sessions of one relay: who is attached, who may come back, the heartbeat.

A session outlives its websocket for ``reconnect_window`` seconds; a client that
reconnects with its session_id (and ``resume``) picks it up. The table owns the
timers; what ending a session means for comms is the relay's business
(``on_end``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from jupyter_client.session import Session
from tornado.ioloop import IOLoop, PeriodicCallback

from .comms import ClientId
from .session import BridgeSocket, ClientSession, SessionSettings

#: Websocket close codes; clients do not reconnect after 4000 and 4004.
CLOSE_GOING_AWAY = 1001
CLOSE_REPLACED = 4000
CLOSE_KERNEL_GONE = 4004
CLOSE_TOO_SLOW = 4008
CLOSE_EXPIRED = 4009

OnEnd = Callable[[ClientSession, str], None]


class SessionTable:
    """Sessions by client id (the client's session_id)."""

    def __init__(
        self, session: Session, settings: SessionSettings, log: logging.Logger, on_end: OnEnd
    ) -> None:
        self.session = session
        self.settings = settings
        self.log = log
        self.on_end = on_end
        self.sessions: dict[ClientId, ClientSession] = {}
        self._heartbeat = PeriodicCallback(self._beat, settings.heartbeat_interval * 1000)

    def get(self, client_id: ClientId) -> ClientSession | None:
        return self.sessions.get(client_id)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self.sessions

    def __iter__(self) -> Iterator[ClientSession]:
        return iter(list(self.sessions.values()))

    def __len__(self) -> int:
        return len(self.sessions)

    def attach(self, socket: BridgeSocket, resume: int | None) -> None:
        """A client connects: a new session, or (``resume``) the one it had."""
        session = self.sessions.get(socket.client_id)
        reason = None
        if resume is not None and (session is None or not session.can_resume(resume)):
            reason = "the server no longer has this session (reconnect window passed, or restart)"
        if session is not None and (resume is None or reason):
            self.end(session, "replaced by a new connection with its session_id", CLOSE_REPLACED)
            session = None
        if session is None:
            now = IOLoop.current().time()
            session = ClientSession(socket.client_id, self.session, self.settings, self.log, now)
            self.sessions[socket.client_id] = session
        elif session.socket is not None:
            old = session.socket
            session.detach()
            old.close_bridge(CLOSE_REPLACED, "replaced by a resumed connection")
        self._cancel_expiry(session)
        session.attach(socket, None if reason else resume, reason)
        if not self._heartbeat.is_running():
            self._heartbeat.start()

    def detach(self, socket: BridgeSocket) -> None:
        """A client's websocket closed: keep its session for ``reconnect_window`` seconds."""
        session = self.sessions.get(socket.client_id)
        if session is None or session.socket is not socket:
            return
        session.detach()
        window = self.settings.reconnect_window
        if window <= 0 or not session.resumable:
            self.end(session, "disconnected")
            return
        reason = f"the client did not reconnect within {window:g}s"
        session.expiry = IOLoop.current().call_later(
            window, lambda: self.end(session, reason, CLOSE_EXPIRED)
        )

    def end(self, session: ClientSession, reason: str, code: int = CLOSE_EXPIRED) -> None:
        """End a session: close its socket with ``code``, then ``on_end`` (once)."""
        if self.sessions.get(session.client_id) is not session:
            return
        del self.sessions[session.client_id]
        self._cancel_expiry(session)
        if session.socket is not None:
            socket = session.socket
            session.detach()
            socket.close_bridge(code, reason)
        if not self.sessions:
            self._heartbeat.stop()
        self.on_end(session, reason)

    def close_all(self, code: int, reason: str) -> None:
        """Close every socket (the kernel or the server is going); no ``on_end``."""
        for session in self:
            self._cancel_expiry(session)
            if session.socket is not None:
                session.socket.close_bridge(code, reason)
        self.sessions.clear()
        self._heartbeat.stop()

    def _cancel_expiry(self, session: ClientSession) -> None:
        if session.expiry is not None:
            IOLoop.current().remove_timeout(session.expiry)
            session.expiry = None

    def _beat(self) -> None:
        for session in self:
            if session.socket is not None:
                session.heartbeat()
