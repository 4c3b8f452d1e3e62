"""The wire: what both directions of the data path share, below every other room.

:mod:`.message` (a Jupyter message as the bridge carries it), :mod:`.kernel_frames` (from and
to the kernel's ZMQ sockets), :mod:`.decode` (frames from websocket clients, checked),
:mod:`.encode` (frames to them), :mod:`.protocol` (the bridge protocol's own words and
numbers), :mod:`.literals` (JS string literals the server writes into outputs) and
:mod:`.bounded` (the bounded memory a long-running server keeps).
"""
