"""``POST comm-bridge/kernels/{kernel_id}/outputs``: outputs a page got another way than
through its kernel connection (Voila writes them into its page), with the bootstrap put in as
the page's connection would have (:mod:`.injection`).

The body is ``{"cells": [[output, ...], ...]}``, each output as nbformat writes it; the answer
is ``{"cells": [[output or null, ...], ...]}``, null for an output left as it is. Authorized as
``write`` on kernels: what comes back runs code against that kernel. A ``GET`` answers 204
and sets the ``_xsrf`` cookie the ``POST`` needs (a Voila page has none).
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..relay.registry import RelayRegistry
from .classic import runs_classic
from .injection import DISPLAY_TYPES, Injector, with_html_source

URL_PATTERN = r"comm-bridge/kernels/(?P<kernel_id>[\w-]+)/outputs"
MAX_OUTPUTS = 10_000


class OutputsHandler(APIHandler):
    """The bootstrap, put into outputs that use pycomm or show a widget."""

    auth_resource = "kernels"

    def initialize(self, injector: Injector, registry: RelayRegistry, widgets: bool) -> None:
        self.injector, self.registry, self.widgets = injector, registry, widgets

    @web.authenticated
    @authorized
    def get(self, kernel_id: str) -> None:
        self.xsrf_token  # noqa: B018 (reading it sets the cookie)
        self.set_status(204)
        self.finish()

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, f"There is no kernel {kernel_id}.")
        cells = _cells(self.get_json_body())
        answer = [self.cell(kernel_id, outputs) for outputs in cells]
        if any(o is not None for outputs in answer for o in outputs):
            self.registry.relay(kernel_id)  # the bridge is in use: keep comms claimable
        self.finish(json.dumps({"cells": answer}))

    def cell(self, kernel_id: str, outputs: list[Any]) -> list[dict[str, Any] | None]:
        """One cell's outputs, in order: after one with classic-Notebook code, HTML outputs
        keep their source (as for an execution in a notebook page)."""
        answer: list[dict[str, Any] | None] = []
        classic = False
        for output in outputs:
            new = None
            if isinstance(output, dict) and output.get("output_type") in DISPLAY_TYPES:
                new = self.injector.inject(kernel_id, output, self.widgets)
                if new is None and classic:
                    new = with_html_source(output)
                classic = classic or (new is not None and runs_classic(output))
            answer.append(new)
        return answer


def _cells(body: Any) -> list[list[Any]]:
    cells = body.get("cells") if isinstance(body, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, list) for c in cells):
        raise web.HTTPError(
            400, 'The body must be {"cells": [[output, ...], ...]}: lists of outputs.'
        )
    if sum(len(c) for c in cells) > MAX_OUTPUTS:
        raise web.HTTPError(413, f"More than {MAX_OUTPUTS} outputs.")
    return cells
