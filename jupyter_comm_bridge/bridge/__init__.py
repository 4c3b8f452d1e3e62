"""The bridge websocket and its clients.

:mod:`.handler` is the websocket (``{base_url}comm-bridge/kernels/{id}/channels``): frames in
go to the kernel's relay, frames out are written by :mod:`.client` (counted, acknowledged,
replayed on resume); :mod:`.clients` holds one kernel's clients, across reconnections.
"""
