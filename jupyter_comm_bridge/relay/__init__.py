"""One kernel's relay: its comm table and the traffic between its clients and its kernel.

Page to kernel: :mod:`.from_clients` (a client's frames: decoded, checked by :mod:`.gate`,
forwarded or answered). Kernel to page: :mod:`.to_clients` (each kernel message to the
clients that may see it, by :mod:`.comms`). :mod:`.page_feed` is the page's own connection as
the relay sees it; :mod:`.relay` wires them over :mod:`.state`; :mod:`.registry` holds a
relay per kernel.
"""
