"""Kernel-side code the tests run (Python, the standard comm API)."""

ECHO_TARGET = """
from comm import get_comm_manager
received = []
comms = {}
def _echo_target(comm, open_msg):
    comms[comm.comm_id] = comm
    received.append(["open", comm.comm_id, open_msg["content"]["data"], len(open_msg["buffers"])])
    @comm.on_msg
    def _echo(msg):
        buffers = [bytes(b) for b in msg["buffers"]]
        received.append(["msg", comm.comm_id, msg["content"]["data"], [len(b) for b in buffers]])
        comm.send(msg["content"]["data"], buffers=buffers)
    @comm.on_close
    def _closed(msg):
        received.append(["close", comm.comm_id])
get_comm_manager().register_target("echo", _echo_target)
"""
