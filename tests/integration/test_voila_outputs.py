"""The outputs route Voila pages use (``comm-bridge/kernels/{id}/outputs``, page/outputs.py) and
the page config hook for Voila (page/voila.py): the browser tests run them in real Voila."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_comm_bridge.page.voila import PAGE_CONFIG_KEY, page_config_hook

PYCOMM_HTML = {
    "output_type": "display_data",
    "data": {"text/html": "<script>pycomm.new_comm('t')</script>", "text/plain": "x"},
    "metadata": {},
}
PLAIN = {"output_type": "execute_result", "data": {"text/plain": "3"}, "metadata": {}}
STREAM = {"output_type": "stream", "name": "stdout", "text": "pycomm\n"}
VIEW = {
    "output_type": "display_data",
    "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
        "text/plain": "IntSlider(value=3)",
    },
    "metadata": {},
}
CLASSIC_JS = {
    "output_type": "display_data",
    "data": {"application/javascript": "IPython.notebook.kernel.comm_manager.register_target"},
    "metadata": {},
}
FIGURE_DIV = {"output_type": "display_data", "data": {"text/html": "<div id='f'></div>"}}


async def post(jp_fetch: Any, kernel_id: str, body: Any) -> Any:
    response = await jp_fetch(
        "comm-bridge", "kernels", kernel_id, "outputs", method="POST", body=json.dumps(body)
    )
    return json.loads(response.body)


async def test_outputs_that_use_pycomm_or_show_a_widget_get_the_bootstrap(jp_fetch, kernel_id):
    cells = [[PYCOMM_HTML, PLAIN, STREAM], [VIEW]]
    answer = (await post(jp_fetch, kernel_id, {"cells": cells}))["cells"]
    assert [[o is not None for o in cell] for cell in answer] == [[True, False, False], [True]]
    html = answer[0][0]["data"]["text/html"]
    assert html.startswith("<script data-pycomm-bootstrap>") and kernel_id in html
    assert answer[0][0]["output_type"] == "display_data"  # the rest of the output is kept
    view = answer[1][0]["data"]["text/html"]  # widgets on: the bridge mounts the view
    assert 'pycomm.display_widget("abc"' in view and "IntSlider(value=3)" in view


async def test_after_classic_notebook_code_a_cells_html_keeps_its_source(jp_fetch, kernel_id):
    answer = (await post(jp_fetch, kernel_id, {"cells": [[CLASSIC_JS, FIGURE_DIV]]}))["cells"]
    assert "IPython" in answer[0][0]["data"]["application/javascript"]
    assert "data-pycomm-html" in answer[0][1]["data"]["text/html"]


@pytest.mark.parametrize(
    "body, code",
    [({"cells": "no"}, 400), ({"outputs": []}, 400), ({"cells": [[{}] * 10_001]}, 413)],
)
async def test_a_malformed_body_gets_an_error_that_says_why(jp_fetch, kernel_id, body, code):
    with pytest.raises(HTTPClientError) as e:
        await post(jp_fetch, kernel_id, body)
    assert e.value.code == code
    assert e.value.response is not None and b"outputs" in e.value.response.body


async def test_an_unknown_kernel_is_a_404_and_no_login_a_403(jp_fetch, kernel_id):
    with pytest.raises(HTTPClientError) as e:
        await post(jp_fetch, "00000000-0000-0000-0000-000000000000", {"cells": []})
    assert e.value.code == 404
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "comm-bridge",
            "kernels",
            kernel_id,
            "outputs",
            method="POST",
            body="{}",
            headers={"Authorization": ""},
        )
    assert e.value.code == 403


def test_the_page_config_hook_keeps_voilas_managers_off_only_when_the_bridge_has_widgets():
    config = {
        "federated_extensions": [
            {"name": "@voila-dashboards/widgets-manager8"},
            {"name": "@voila-dashboards/widgets-manager7"},
            {"name": "jupyter-comm-bridge"},
        ]
    }
    seen: list[str] = []

    def users(page_config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        seen.append(kwargs["notebook_path"])
        return {**page_config, "theirs": True}

    on = page_config_hook(True, users)(config, notebook_path="a.ipynb")
    assert [x["name"] for x in on["federated_extensions"]] == ["jupyter-comm-bridge"]
    assert on[PAGE_CONFIG_KEY] == {"widgets": True} and on["theirs"] and seen == ["a.ipynb"]
    off = page_config_hook(False, None)(config, notebook_path="a.ipynb")
    assert off["federated_extensions"] == config["federated_extensions"]
    assert off[PAGE_CONFIG_KEY] == {"widgets": False}
    assert PAGE_CONFIG_KEY not in config  # the hook's input is left as it was
