"""Code the benchmark runs in the kernels (Python, the standard comm API only)."""

from __future__ import annotations

ECHO_TARGET = "bench_echo"
SINK_TARGET = "bench_sink"

#: Registered once per kernel. The echo target sends back what it got, buffers
#: included; the sink counts messages and reports the count when asked, so a
#: one-way run ends when the kernel has taken every message.
TARGETS = f"""
from comm import get_comm_manager as _bench_cm

def _bench_echo(comm, open_msg):
    @comm.on_msg
    def _echo(msg):
        comm.send(msg["content"]["data"], buffers=msg["buffers"])

def _bench_sink(comm, open_msg):
    count = [0]
    @comm.on_msg
    def _count(msg):
        if msg["content"]["data"].get("report"):
            comm.send({{"count": count[0]}})
            count[0] = 0
        else:
            count[0] += 1

_bench_cm().register_target({ECHO_TARGET!r}, _bench_echo)
_bench_cm().register_target({SINK_TARGET!r}, _bench_sink)
"""


#: Lets the kernel's iopub socket queue without limit for the subscriptions it has now
#: (libzmq applies a new high-water mark to existing pipes; later connections keep the
#: bind-time one). ZMQ's PUB drops what a subscriber is too slow to take once ~1000
#: messages wait for it: a server slower than the kernel then loses output (a stock
#: server under load lost a quarter of 20,000 stream messages) instead of being
#: measured as slower. Set on the socket's own IO thread (zmq sockets are not thread-safe).
UNLIMITED_IOPUB = """
import zmq as _zmq
from ipykernel.kernelapp import IPKernelApp as _App
_iopub = _App.instance().iopub_thread
_iopub.schedule(lambda: _iopub.socket.setsockopt(_zmq.SNDHWM, 0))
"""
IOPUB_HWM = "print(_iopub.socket.getsockopt(_zmq.SNDHWM))"


def output_cell(streams: int, htmls: int, mention_pycomm: bool) -> str:
    """A cell with ``streams`` stream messages and ``htmls`` HTML display_data outputs.

    Each write is flushed so that it is a message of its own (ipykernel would
    otherwise merge writes). The HTML mentions pycomm only in the variant meant
    to get the bootstrap injected.
    """
    word = "pycomm" if mention_pycomm else "plain"
    return f"""
import sys as _sys
from IPython.display import HTML as _HTML, display as _display
for _i in range({streams}):
    _sys.stdout.write("line %d\\n" % _i)
    _sys.stdout.flush()
for _i in range({htmls}):
    _display(_HTML("<div class='bench'>{word} output %d</div>" % _i))
"""


def busy_cell(seconds: float) -> str:
    return f"import time as _t; _t.sleep({seconds})"
