"""The clients of one relay: who is attached, who may come back, the heartbeat.

A resumable client outlives its websocket for ``reconnect_window`` seconds; one that
reconnects with its session_id (and ``resume``) picks up where it was. The table owns
the timers; what ending a client means for its comms is the relay's business (``on_end``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from jupyter_client.session import Session
from tornado.ioloop import IOLoop, PeriodicCallback

from ..wire.protocol import CLOSE_EXPIRED, CLOSE_REPLACED
from .client import BridgeSocket, Client, ClientSettings

OnEnd = Callable[[Client, str], None]


class ClientTable:
    """Clients by session_id."""

    def __init__(self, session: Session, settings: ClientSettings, on_end: OnEnd) -> None:
        self.session = session
        self.settings = settings
        self.on_end = on_end
        self.clients: dict[str, Client] = {}
        self._heartbeat = PeriodicCallback(self._beat, settings.heartbeat_interval * 1000)

    def get(self, session_id: str) -> Client | None:
        return self.clients.get(session_id)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self.clients

    def __iter__(self) -> Iterator[Client]:
        return iter(list(self.clients.values()))

    def __len__(self) -> int:
        return len(self.clients)

    def attach(self, socket: BridgeSocket, resume: int | None) -> None:
        """A websocket connects: a new client, or (``resume``) the one it was."""
        client = self.clients.get(socket.session_id)
        reason = None
        if resume is not None and (client is None or not client.can_resume(resume)):
            reason = "the server no longer has this client (reconnect window passed, or restart)"
        if client is not None and (resume is None or reason):
            self.end(client, "replaced by a new connection with its session_id", CLOSE_REPLACED)
            client = None
        if client is None:
            now = IOLoop.current().time()
            client = Client(socket.session_id, self.session, self.settings, now)
            self.clients[socket.session_id] = client
        elif client.socket is not None:
            old = client.socket
            client.detach()
            old.close_bridge(CLOSE_REPLACED, "replaced by a resumed connection")
        self._cancel_expiry(client)
        client.attach(socket, None if reason else resume, reason)
        if not self._heartbeat.is_running():
            self._heartbeat.start()

    def detach(self, socket: BridgeSocket) -> None:
        """A websocket closed: a resumable client waits ``reconnect_window`` seconds."""
        client = self.clients.get(socket.session_id)
        if client is None or client.socket is not socket:
            return
        client.detach()
        window = self.settings.reconnect_window
        if window <= 0 or not client.resumable:
            self.end(client, "disconnected")
            return
        reason = f"the client did not reconnect within {window:g}s"
        client.expiry = IOLoop.current().call_later(
            window, lambda: self.end(client, reason, CLOSE_EXPIRED)
        )

    def end(self, client: Client, reason: str, code: int = CLOSE_EXPIRED) -> None:
        """End a client: close its socket with ``code``, then ``on_end`` (once)."""
        if self.clients.get(client.session_id) is not client:
            return
        del self.clients[client.session_id]
        self._cancel_expiry(client)
        if client.socket is not None:
            socket = client.socket
            client.detach()
            socket.close_bridge(code, reason)
        if not self.clients:
            self._heartbeat.stop()
        self.on_end(client, reason)

    def close_all(self, code: int, reason: str) -> None:
        """Close every socket (the kernel or the server is going); no ``on_end``."""
        for client in self:
            self._cancel_expiry(client)
            if client.socket is not None:
                client.socket.close_bridge(code, reason)
        self.clients.clear()
        self._heartbeat.stop()

    def _cancel_expiry(self, client: Client) -> None:
        if client.expiry is not None:
            IOLoop.current().remove_timeout(client.expiry)
            client.expiry = None

    def _beat(self) -> None:
        for client in self:
            if client.socket is not None:
                client.heartbeat()
