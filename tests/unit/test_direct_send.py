"""Sending to the kernel at once when the stream has nothing queued (upstream.DirectSend):
with the pipe full, what follows waits in the stream's queue, and the kernel gets every
message in the order sent."""

from __future__ import annotations

import asyncio

import zmq
from zmq.eventloop.zmqstream import ZMQStream

from jupyter_comm_bridge.upstream import DirectSend

COUNT = 200
#: 200 of them are more than the socket buffers of a loopback connection hold.
PAYLOAD = bytes(64 * 1024)


async def test_messages_arrive_in_order_when_the_pipe_fills():
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.RCVHWM, 4)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.SNDHWM, 4)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    stream = ZMQStream(dealer)
    try:
        sender = DirectSend(stream)
        for i in range(COUNT):  # the kernel reads nothing meanwhile
            sender.send_multipart([PAYLOAD, str(i).encode()], copy=False)
        assert stream.sending(), "the pipe never filled: the queue went untested"

        got: list[int] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while len(got) < COUNT and loop.time() < deadline:
            if router.poll(10):  # (the stream sends the rest from the event loop)
                got.append(int(router.recv_multipart()[-1]))
            else:
                await asyncio.sleep(0)
        assert got == list(range(COUNT))
    finally:
        stream.close(linger=0)
        router.close(linger=0)
        context.term()
