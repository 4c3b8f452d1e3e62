"""The markup of a widget-view output: HTML that mounts the widget's view in the page."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..wire.literals import js_string

VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"


def view_model_id(data: dict[str, Any]) -> str | None:
    """The model_id of a widget-view output's data (ipywidgets protocol 2), if it is one."""
    view = data.get(VIEW_MIMETYPE)
    if isinstance(view, str):  # some kernels send the JSON as a string
        try:
            view = json.loads(view)
        except ValueError:
            return None
    if not isinstance(view, dict) or view.get("version_major") != 2:
        return None
    model_id = view.get("model_id")
    return model_id if isinstance(model_id, str) and model_id else None


def view_markup(model_id: str, plain: Any = None) -> str:
    """The HTML that mounts a widget's view (after the bootstrap). Until the view replaces
    it, the element shows the output's ``text/plain``: what an untrusted notebook, whose
    scripts do not run, shows instead of the widget (as a page without widgets would)."""
    element = "document.currentScript.previousElementSibling"
    text = escape(plain, quote=False) if isinstance(plain, str) else ""
    placeholder = f"<pre>{text}</pre>" if text else ""
    return (
        f'<div class="pycomm-widget">{placeholder}</div>'
        f"<script>pycomm.display_widget({js_string(model_id)}, {element})</script>"
    )
