"""A local HTTP server laid out like a CDN of npm packages (jsDelivr, unpkg), for tests: the
real npm package of a widget library, fetched from the registry (``npm pack``) at set-up.

``GET /{name}@{version or range}/{path}`` serves ``{root}/{name}@{version}/{path}``; a range
resolves to the one version of that name the root holds. Every request is logged, so a test can
tell whether the bridge's server came back for a file.

Run as ``python -m support.cdn ROOT PORT`` (a process of its own: browser tests are sync).
"""

from __future__ import annotations

import mimetypes
import subprocess
import sys
import tarfile
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


def npm_package(root: Path, name: str, version: str) -> Path:
    """``{root}/{name}@{version}/``: the package's files, as ``npm pack`` fetches them."""
    target = root / f"{name}@{version}"
    if target.is_dir():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["npm", "pack", "--silent", f"{name}@{version}"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"npm pack {name}@{version}: {done.stderr}"
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        (Path(tmp) / "package").rename(target)
    return target


class CdnHandler(BaseHTTPRequestHandler):
    root: Path

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = unquote(self.path.split("?")[0]).lstrip("/")
        parts = path.split("/")
        cut = 2 if path.startswith("@") else 1  # @scope/name@version/...
        name, _, _version = "/".join(parts[:cut]).rpartition("@")
        rest = "/".join(parts[cut:])
        where = self.root / Path(name).parent
        found = sorted(where.glob(f"{Path(name).name}@*")) if name else []
        file = found[-1] / rest if found else None
        if file is None or ".." in Path(rest).parts or not file.is_file():
            self.send_error(404)
            return
        body = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(file.name)[0] or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")
        sys.stdout.flush()


def main() -> None:
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    CdnHandler.root = root
    ThreadingHTTPServer(("127.0.0.1", port), CdnHandler).serve_forever()


if __name__ == "__main__":
    main()
