"""The relay's reconnections to a kernel gateway follow GatewayClient's retry settings."""

from __future__ import annotations

from types import SimpleNamespace

from jupyter_server.gateway.gateway_client import GatewayClient

from jupyter_comm_bridge.kernel.gateway_upstream import JITTER, retry_delays


def test_delays_double_up_to_the_maximum_plus_jitter_as_many_times_as_allowed() -> None:
    client = SimpleNamespace(
        gateway_retry_interval=1.0, gateway_retry_interval_max=3.0, gateway_retry_max=4
    )
    assert list(retry_delays(client, jitter=lambda: 0.5)) == [1.5, 2.5, 3.5, 3.5]
    assert list(retry_delays(SimpleNamespace(**{**vars(client), "gateway_retry_max": 0}))) == []


def test_the_defaults_are_gateway_clients_own_and_jitter_is_jupyter_servers_range() -> None:
    client = GatewayClient()
    delays = list(retry_delays(client))
    assert len(delays) == client.gateway_retry_max
    for attempt, delay in enumerate(delays):
        base = min(client.gateway_retry_interval * 2**attempt, client.gateway_retry_interval_max)
        assert base + JITTER[0] <= delay <= base + JITTER[1]
