"""Kernel-side code of tests/integration/test_kernels.py, in each kernel's own language.

Every snippet records what the kernel got in a variable the tests read back
(``received``), so a test can check both ends of the bridge.
"""

from .snippets import ECHO_TARGET

# --- IRkernel (R) -------------------------------------------------------------------------
# IRkernel::comm_manager() is the kernel's CommManager; a target handler gets
# (comm, data) and a comm's on_msg callback gets the message's `data` only (parsed
# by jsonlite::fromJSON, so JSON arrays become R vectors). Buffers never reach R code.

R_ECHO_TARGET = """
received <- list()
cm <- IRkernel::comm_manager()
cm$register_target("echo", function(comm, data) {
  received[[length(received) + 1]] <<- list("open", comm$id, data)
  comm$on_msg(function(msg) {
    received[[length(received) + 1]] <<- list("msg", comm$id, msg)
    comm$send(msg)
  })
  comm$on_close(function() {
    received[[length(received) + 1]] <<- list("close", comm$id)
  })
})
"""

# A comm the kernel opens: cm$new_comm(target) makes it, $open(data) sends comm_open.
R_KERNEL_OPENS = """
opened <- IRkernel::comm_manager()$new_comm("{target}")
opened$on_msg(function(msg) {{
  received[[length(received) + 1]] <<- list("reply", opened$id, msg)
  opened$send(list(got = msg))
}})
opened$open(list(foo = 1))
opened$send(list(foo = 2))
"""


def r_json(expression: str) -> str:
    """R code printing ``expression`` as JSON (scalars unboxed, full precision, NULL as null)."""
    return f'cat(jsonlite::toJSON({expression}, auto_unbox = TRUE, null = "null", digits = NA))'


# --- xeus-python ----------------------------------------------------------------------------
# The API that works in both modes is ipykernel's: `from ipykernel.comm import Comm` and
# `get_ipython().kernel.comm_manager`, which xeus-python patches in (xpython also has a built-in
# `comm` module; in xpython-raw, `import comm` finds the pip package, whose comms are dummies).
# The callbacks of targets registered with its comm manager never run (upstream bug).

XPYTHON_KERNEL_OPENS = """
from ipykernel.comm import Comm
received = []
opened = Comm(target_name={target!r}, data={{"foo": 1}}, buffers=[b"open", b""])
def _got(msg):
    buffers = [bytes(b) for b in msg["buffers"]]
    received.append(["reply", opened.comm_id, msg["content"]["data"], [b.hex() for b in buffers]])
    opened.send({{"got": msg["content"]["data"]}}, buffers=buffers)
opened.on_msg(_got)
opened.send({{"foo": 2}}, buffers=[bytes(range(256)), b"\\x00" * 3])
"""

XPYTHON_ECHO_TARGET = """
received = []
def _echo_target(c, open_msg):
    received.append(["open", c.comm_id, open_msg["content"]["data"]])
    def _echo(msg):
        received.append(["msg", c.comm_id, msg["content"]["data"]])
        c.send(msg["content"]["data"])
    c.on_msg(_echo)
get_ipython().kernel.comm_manager.register_target("echo", _echo_target)
"""


def py_json(expression: str) -> str:
    """Python code printing ``expression`` as JSON."""
    return f"import json as _j; print(_j.dumps({expression}))"


# --- Calysto Scheme (metakernel): Python in %%python cells ----------------------------------
# metakernel's %%python cells run in the kernel's Python, where the standard
# comm API works as in ipykernel.

SCHEME_ECHO_TARGET = "%%python" + ECHO_TARGET  # the Python one, in a %%python cell

SCHEME_KERNEL_OPENS = """%%python
from comm import create_comm
opened = create_comm(target_name={target!r}, data={{"foo": 1}}, buffers=[b"open"])
@opened.on_msg
def _got(msg):
    buffers = [bytes(b) for b in msg["buffers"]]
    received.append(["reply", opened.comm_id, msg["content"]["data"], [b.hex() for b in buffers]])
    opened.send({{"got": msg["content"]["data"]}}, buffers=buffers)
opened.send({{"foo": 2}}, buffers=[bytes(range(256))])
"""


def scheme_py_json(expression: str) -> str:
    return "%%python\n" + py_json(expression)


# --- Deno ------------------------------------------------------------------------------------
# Deno.jupyter.broadcast(msgType, content, {metadata, buffers}) publishes any iopub
# message: a comm is opened, used and closed with it, send only (Deno has no way to
# receive comm messages; it answers a client's comm_open with comm_close on shell).

DENO_KERNEL_OPENS = """
globalThis.commId = crypto.randomUUID();
await Deno.jupyter.broadcast(
  "comm_open",
  { comm_id: commId, target_name: "__TARGET__", data: { foo: 1 } },
  { buffers: [new Uint8Array([1, 2, 3])] },
);
await Deno.jupyter.broadcast(
  "comm_msg",
  { comm_id: commId, data: { foo: 2, nested: { a: [0, "", false, null] } } },
  { buffers: [new Uint8Array(256).map((_, i) => i), new Uint8Array(0)] },
);
"""


def deno_kernel_opens(target: str) -> str:
    return DENO_KERNEL_OPENS.replace("__TARGET__", target)


DENO_KERNEL_CLOSES = """
await Deno.jupyter.broadcast("comm_close", { comm_id: commId, data: { bye: true } });
"""

# --- bash_kernel -----------------------------------------------------------------------------
# No comm API: a comm_open is logged by the kernel as unknown and never answered.

BASH_HELLO = "echo hello"
