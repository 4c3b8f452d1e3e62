"""The kernel side: the relay's link to the current kernel process and the sockets it speaks on.

:mod:`.link` (one kernel process: connect, send in each client's order, retire), the two
upstreams (:mod:`.zmq_upstream` for local kernels, :mod:`.gateway_upstream` behind a kernel
gateway), :mod:`.subshells` (JEP 91 subshells for comms), :mod:`.ordering` (a client's order
across shells) and :mod:`.managers` (the seams: jupyter_server's kernel managers and what
both upstreams share).
"""
