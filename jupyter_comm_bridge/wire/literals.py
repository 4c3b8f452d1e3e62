"""JS string literals that are safe inside an HTML ``<script>``: the only values the server
writes into outputs' code (kernel ids, versions, model ids)."""

from __future__ import annotations

import json

_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def js_string(value: str) -> str:
    """A JS string literal that is also safe inside an HTML <script> element."""
    literal = json.dumps(value, ensure_ascii=False)
    return "".join(_SCRIPT_ESCAPES.get(ch, ch) for ch in literal)
