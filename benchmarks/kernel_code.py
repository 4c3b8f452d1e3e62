"""Code the benchmark runs in the kernels (Python, the standard comm API only)."""

from __future__ import annotations

ECHO_TARGET = "bench_echo"
SINK_TARGET = "bench_sink"
STREAM_TARGET = "bench_stream"

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

#: A one-way stream kernel -> client with credit-based flow control. ``{"start": true,
#: "size": n, "credit": w}`` starts a kernel thread that sends ``comm.send(buffers=[b])``
#: (``b`` is ``n`` bytes, byte ``i`` is ``i % 256``) as fast as it can while it has credit;
#: ``{"credit": k}`` gives ``k`` more frames; ``{"stop": true}`` ends it, and the thread then
#: sends ``{"sent": count}`` after its last frame. A thread with no credit for 60 s stops.
STREAM = f"""
import threading as _bench_threading

def _bench_stream(comm, open_msg):
    state = {{"credit": 0, "stop": True, "sent": 0, "buffer": b""}}
    wake = _bench_threading.Condition()

    def run():
        while True:
            with wake:
                if not wake.wait_for(lambda: state["credit"] > 0 or state["stop"], 60):
                    state["stop"] = True
                if state["stop"]:
                    break
                state["credit"] -= 1
            comm.send({{"n": state["sent"]}}, buffers=[state["buffer"]])
            state["sent"] += 1
        comm.send({{"sent": state["sent"]}})

    @comm.on_msg
    def _control(msg):
        data = msg["content"]["data"]
        with wake:
            if data.get("start") and state["stop"]:
                size = int(data["size"])
                state.update(credit=0, stop=False, sent=0)
                state["buffer"] = (bytes(range(256)) * (size // 256 + 1))[:size]
                _bench_threading.Thread(target=run, daemon=True).start()
            state["credit"] += int(data.get("credit", 0))
            state["stop"] = state["stop"] or bool(data.get("stop"))
            wake.notify()

_bench_cm().register_target({STREAM_TARGET!r}, _bench_stream)
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
