"""Browser smoke test of the widget bundle: ``python js/widgets/test/smoke.py``.

Serves pycomm's modules as the server does (``/client/``, with ``widgets.js`` = the built
``js/widgets/dist/widgets.js``) and runs ``smoke.js`` in headless Chromium, against a fake
bridge and kernel. Build first: ``npm --prefix js/widgets ci && npm --prefix js/widgets run build``.
"""

from __future__ import annotations

import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Response, sync_playwright

HERE = Path(__file__).resolve().parent
JS = HERE.parent.parent
BUNDLE = HERE.parent / "dist" / "widgets.js"


class Handler(SimpleHTTPRequestHandler):
    """``/client/X.js`` from js/ (widgets.js from dist/), ``/test/...`` from this folder."""

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        if path == "/client/widgets.js":
            return str(BUNDLE)
        if path.startswith("/client/"):
            return str(JS / path.removeprefix("/client/"))
        return str(HERE / path.removeprefix("/test/"))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


def watch(page: Page, problems: list[str]) -> None:
    """Collect the page's errors, console errors and failed requests into `problems`."""

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"console: {msg.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"{response.status}: {response.url}")

    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", on_console)
    page.on("response", on_response)


def main() -> int:
    if not BUNDLE.is_file():
        print(f"{BUNDLE} is missing: npm --prefix js/widgets run build", file=sys.stderr)
        return 2
    Handler.extensions_map[".js"] = "text/javascript"
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/test/smoke.html"
    problems: list[str] = []
    with sync_playwright() as p:
        args = ["--headless", "--no-sandbox", "--disable-gpu"]
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()
        watch(page, problems)
        page.goto(url)
        page.wait_for_function("window.__smoke", timeout=60_000)
        smoke = page.evaluate("window.__smoke")
        browser.close()
    server.shutdown()
    failed = [r for r in smoke["results"] if not r["ok"]]
    for r in smoke["results"]:
        print("ok  " if r["ok"] else "FAIL", r["name"], "" if r["ok"] else f"  [{r['detail']}]")
    if smoke.get("error"):
        print("error:", smoke["error"])
    for line in problems:
        print(line)
    print(f"{len(smoke['results']) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or problems or smoke.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
