"""The names in widget-module URLs and what the page is told (widgets/shapes.py, finder.py,
cdn.py, handlers.py: their functions without I/O)."""

from __future__ import annotations

import pytest

from jupyter_comm_bridge.widgets.libraries.cdn import _stays_within, is_cdn_url
from jupyter_comm_bridge.widgets.libraries.finder import message, mismatch
from jupyter_comm_bridge.widgets.libraries.handlers import media_type
from jupyter_comm_bridge.widgets.libraries.shapes import (
    files_base,
    is_kernelspec_name,
    is_npm_name,
    relative_parts,
)


def test_npm_names():
    for name in ("jupyter-matplotlib", "@jupyter-widgets/base", "bqplot", "JSONStream", "a.b_c~d"):
        assert is_npm_name(name), name
    for name in ("..", ".hidden", "a/b", "@s/a/b", "@s/..", "", "a b", "a\\b", "x" * 215, "@/a"):
        assert not is_npm_name(name), name


def test_kernelspec_names():
    assert is_kernelspec_name("python-widget-libs") and is_kernelspec_name("conda-env-x_1.2")
    for name in ("..", ".", "a/b", "", "a%2Fb", ".hidden"):
        assert not is_kernelspec_name(name), name


@pytest.mark.parametrize(
    "path", ["", "../x", "a/../b", "./a", "a//b", "/etc/passwd", "a\\..\\b", ".git/x", "a\0b"]
)
def test_paths_that_could_leave_a_module(path):
    assert relative_parts(path) is None


def test_paths_inside_a_module():
    assert relative_parts("static/remoteEntry.abc.js") == ("static", "remoteEntry.abc.js")
    assert relative_parts("index.js") == ("index.js",)


def test_files_base():
    base = files_base("kernelspecs/env", "labextensions", "@s/m", "1.0.0+b")
    assert base == "comm-bridge/widgets/files/kernelspecs/env/labextensions/%40s%2Fm/1.0.0%2Bb/"
    assert files_base("server", "nbextensions", "m", "").endswith("/m/unknown/")


def test_cdn_urls():
    assert is_cdn_url("https://cdn.jsdelivr.net/npm") and is_cdn_url("http://mirror:8080/")
    for url in ("ftp://cdn/npm", "file:///tmp", "cdn.jsdelivr.net/npm", "https://x/?a=b", ""):
        assert not is_cdn_url(url), url
    prefix = "https://cdn/npm/m@1.0.0/"
    assert _stays_within("https://cdn/npm/m@1.0.0/dist/index.js", prefix)
    for url in (
        "https://cdn/npm/m@1.0.0/../n@1.0.0/x.js",
        "https://cdn/npm/m@1.0.0/%2e%2e/n@1.0.0/x.js",
        "https://cdn/npm/m@1.0.01/x.js",
        "https://evil/npm/m@1.0.0/x.js",
    ):
        assert not _stays_within(url, prefix), url


def test_media_types():
    assert media_type("index.js") == "text/javascript; charset=utf-8"
    assert media_type("A.WOFF2") == "font/woff2"
    assert media_type("remoteEntry.abc.js") == "text/javascript; charset=utf-8"
    assert media_type("x.unknown-extension") == "application/octet-stream"


def test_versions_that_will_not_do():
    assert mismatch("", "^1") is None  # unknown: accepted
    assert mismatch("1.2.0", "^1") is None
    assert mismatch("0.11.0", "^0.12") == "0.11.0 does not satisfy ^0.12"


def test_the_message_says_what_to_do():
    looked = [
        {"source": "kernel", "where": "/k", "found": "0.11.0", "why": "..."},
        {"source": "server", "where": "/s", "found": None, "why": "not there"},
    ]
    text = message("jupyter-matplotlib", "^0.12", looked, "", cdn_on=False)
    assert text == (
        "The widget module jupyter-matplotlib ^0.12 could not be loaded (the kernel's "
        "environment has 0.11.0; the server's environment does not have it): install a "
        "version in that range of the library in the kernel's environment, or set "
        "CommBridgeApp.widget_cdn to load it from a CDN."
    )
    looked = [
        {"source": "cdn", "where": "https://c/m@^1", "found": None, "why": "the CDN answered 404"}
    ]
    text = message("m", "^1", looked, "the kernel runs behind a kernel gateway", cdn_on=True)
    assert text == (
        "The widget module m ^1 could not be loaded (the kernel runs behind a kernel gateway; "
        "the CDN answered 404): install the library that provides it in the server's "
        "environment."
    )
