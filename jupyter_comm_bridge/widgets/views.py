"""The markup of a widget-view output: HTML that mounts the widget's view in the page."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from ..wire.literals import js_string

VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: A fallback HTML with scripts of its own is not shown in the view's place: a page with a
#: widget manager would never have run them.
_SCRIPT = re.compile(r"<\s*script\b", re.I)


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


def view_markup(model_id: str, plain: Any = None, html: Any = None) -> str:
    """The HTML that mounts a widget's view (after the bootstrap). Until the view replaces
    it, the element shows what a page without widgets would: the output's own ``text/html``
    when it has one without scripts (ipympl's figure as an image), else its ``text/plain``;
    that is also what an untrusted notebook, whose scripts do not run, keeps showing."""
    element = "document.currentScript.previousElementSibling"
    if isinstance(html, str) and not _SCRIPT.search(html):
        placeholder = html
    else:
        text = escape(plain, quote=False) if isinstance(plain, str) else ""
        placeholder = f"<pre>{text}</pre>" if text else ""
    return (
        f'<div class="pycomm-widget">{placeholder}</div>'
        f"<script>pycomm.display_widget({js_string(model_id)}, {element})</script>"
    )
