"""What the extension relies on in jupyter_server and tornado beyond their public APIs, in one
room: the page's and the activity watcher's iopub streams, the kernel manager's connection
count, the gateway connection's private steps, and tornado's websocket and stream internals
(writing a frame in pieces, socket options). Each module names the internals it touches; the
tests marked ``server_internals`` run against the oldest and the newest jupyter_server (and
the tornado each brings) that ``pyproject.toml`` admits.
"""
