"""The page's own kernel connection (``api/kernels/{id}/channels``), wrapped.

:mod:`.connection` (the wrapper of jupyter_server's ZMQ connection: messages to the page
decided by :mod:`.verdict`, the page's comm_close of a bridge comm held back),
:mod:`.gateway` (the same for a kernel gateway's connection), :mod:`.verdict` (what becomes
of a kernel message on its way to the page: bridge comms kept from it, captured outputs
dropped, outputs given the bootstrap), :mod:`.injection` (the bootstrap put into outputs that
use pycomm) and :mod:`.classic` (code written for the classic Notebook).
"""
