"""The bootstrap put into outputs that use ``pycomm``.

An output qualifies when its ``text/html`` or ``application/javascript`` data
mentions ``pycomm``, or when its output metadata has ``"pycomm": true``; and, when the
bridge serves widgets (see :mod:`..widgets`), a widget-view output with no HTML. The
bootstrap (``js/bootstrap.js``) goes before the output's own scripts; the only
values it carries are the kernel id and the client's version, written as JS
string literals escaped for an HTML ``<script>`` too.
"""

from __future__ import annotations

import re
from typing import Any

from ..assets import Assets
from ..widgets.views import view_markup, view_model_id
from ..wire.literals import js_string
from .classic import classic_code, classic_html, uses_classic

DISPLAY_TYPES = frozenset({"display_data", "execute_result", "update_display_data"})
HTML = "text/html"
PLAIN = "text/plain"
JAVASCRIPT = "application/javascript"
#: Output metadata key that asks for the bootstrap even if the data doesn't say "pycomm".
METADATA_KEY = "pycomm"
PLACEHOLDER = "__PYCOMM_ARGS__"
#: Marks the copy of an HTML output's source kept beside it (with_html_source).
SOURCE_ATTRIBUTE = "data-pycomm-html"
# In HTML outputs the bootstrap finds its output through document.currentScript;
# JupyterLab and the classic Notebook run JavaScript outputs with `element` in scope.
HTML_ELEMENT = "null"
JS_ELEMENT = 'typeof element === "undefined" ? null : element'


_JSDOC = re.compile(r"/\*\*.*?\*/")


def compact(template: str) -> str:
    """Drop comments (``//`` lines, inline ``/** ... */`` type annotations) and indentation;
    refuse anything that could end a <script>."""
    lines = (_JSDOC.sub("", line).strip() for line in template.splitlines())
    code = "\n".join(line for line in lines if line and not line.startswith("//"))
    for bad in ("</", "<!--", "-->", "\u2028", "\u2029"):
        if bad in code:
            raise ValueError(f"bootstrap template contains {bad!r}")
    if code.count(PLACEHOLDER) != 1:
        raise ValueError(f"bootstrap template needs exactly one {PLACEHOLDER}")
    return code


class Injector:
    """Adds the bootstrap to the data of display messages that use pycomm."""

    def __init__(self, bootstrap_template: str, version: str) -> None:
        self.template = compact(bootstrap_template)
        self.version = version

    @classmethod
    def from_assets(cls, assets: Assets) -> Injector:
        return cls(assets.text("bootstrap.js"), assets.version)

    def script(self, kernel_id: str, element: str) -> str:
        args = f"{js_string(kernel_id)}, {js_string(self.version)}, {element}"
        return self.template.replace(PLACEHOLDER, args)

    def inject(
        self, kernel_id: str, content: dict[str, Any], widgets: bool = False
    ) -> dict[str, Any] | None:
        """New content with the bootstrap, or None when the output doesn't use pycomm.

        With ``widgets``, a widget-view output gets HTML that mounts the widget's view, in
        place of the fallback HTML a library may give beside it (ipympl's figure as an image):
        a page with a widget manager shows the view, not the fallback.
        """
        data = content.get("data")
        if not isinstance(data, dict):
            return None
        metadata = content.get("metadata")
        asked = isinstance(metadata, dict) and bool(metadata.get(METADATA_KEY))
        html, js = data.get(HTML), data.get(JAVASCRIPT)
        model_id = view_model_id(data) if widgets else None
        # each text is searched for the classic names once (a library's JS can be megabytes)
        classic_in_html = isinstance(html, str) and uses_classic(html)
        classic_in_js = isinstance(js, str) and uses_classic(js)
        use_html = isinstance(html, str) and (asked or classic_in_html or "pycomm" in html)
        use_js = isinstance(js, str) and (asked or classic_in_js or "pycomm" in js)
        if not (use_html or use_js or model_id):
            return None
        data = dict(data)
        kernel = js_string(kernel_id)
        if model_id:
            markup = view_markup(model_id, data.get(PLAIN), html)
            data[HTML] = self._boot_html(kernel_id, markup)
        elif isinstance(html, str) and use_html:
            body = classic_html(html, kernel) if classic_in_html else html
            data[HTML] = self._boot_html(kernel_id, body)
        if isinstance(js, str) and use_js:
            code = classic_code(js, kernel, JS_ELEMENT) if classic_in_js else js
            script = self.script(kernel_id, JS_ELEMENT)
            data[JAVASCRIPT] = f"{script}\nvar pycomm = window.pycomm.kernel({kernel});\n{code}"
        return {**content, "data": data}

    def _boot_html(self, kernel_id: str, body: str) -> str:
        script = self.script(kernel_id, HTML_ELEMENT)
        return f"<script data-pycomm-bootstrap>{script}</script>{body}"


def with_html_source(content: dict[str, Any]) -> dict[str, Any] | None:
    """The content with its HTML's source kept beside it, for code that looks for an output
    by its source (``Jupyter.notebook.get_cells()``, js/classic.js); None without HTML."""
    data = content.get("data")
    if not isinstance(data, dict):
        return None
    html = data.get(HTML)
    if not isinstance(html, str) or SOURCE_ATTRIBUTE in html:
        return None
    kept = f'<script type="application/json" {SOURCE_ATTRIBUTE}>{js_string(html)}</script>'
    return {**content, "data": {**data, HTML: html + kept}}
