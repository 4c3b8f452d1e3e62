"""The CDN (or npm mirror) source of widget modules, opt-in by ``CommBridgeApp.widget_cdn``.

``{widget_cdn}/{module}@{range}/package.json`` resolves a range to an exact version (a CDN laid
out like jsDelivr's ``/npm`` or unpkg); the module is then the npm package's ``dist/index.js``
(AMD: what html-manager and Colab load), and the page may ask for any other file of the
package, ``{widget_cdn}/{module}@{version}/{path}``. The server fetches them, keeps them on disk
(:mod:`.cdn_cache`) and serves them itself: the page never loads code from another origin.
No request leaves ``{widget_cdn}/{module}@``: a redirect elsewhere is refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import quote, unquote, urljoin, urlsplit

from tornado.simple_httpclient import SimpleAsyncHTTPClient

from ...wire.bounded import Recent
from .cdn_cache import DiskCache
from .semver import is_exact_version, satisfies
from .shapes import (
    NPM,
    VERSION_SEGMENT,
    ModuleFound,
    NotServed,
    files_base,
    is_npm_name,
    relative_parts,
)

#: The AMD module of an npm widget package.
CDN_ENTRY = "dist/index.js"
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 60.0
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Seconds a range stays resolved to the version the CDN gave (new releases show up after).
RESOLVED_FOR = 600.0
#: Seconds an answer that found nothing is kept (a CDN outage does not cost every request).
MISSING_FOR = 60.0
UNBOUNDED = 1 << 62
#: Ranges and missing files remembered.
REMEMBERED = 1024


class TooBig(Exception):
    """A file past ``widget_cdn_max_file``: raised to stop reading it."""


def is_cdn_url(url: str) -> bool:
    """Whether ``url`` can be a CDN's: http(s), with a host, no query or fragment."""
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
    )


def _stays_within(url: str, prefix: str) -> bool:
    """Whether ``url`` is under ``prefix`` with no dot segments that would lead out of it."""
    if not url.startswith(prefix):
        return False
    segments = unquote(urlsplit(url).path).split("/")
    return not any(s in (".", "..") for s in segments)


class CdnSource:
    """Widget modules from a CDN, fetched once and served from the disk cache."""

    def __init__(self, url: str, cache: DiskCache, max_file: int, log: logging.Logger) -> None:
        self.url = url.rstrip("/")
        self.cache = cache
        self.log = log
        self.max_file = max_file
        self._client: SimpleAsyncHTTPClient | None = None
        #: (module, range) -> (until, version, why): a range resolved, or why it was not.
        self._resolved: Recent[tuple[str, str], tuple[float, str, str]] = Recent(REMEMBERED)
        #: cache key -> (until, why): files the CDN did not give lately.
        self._missing: Recent[str, tuple[float, str]] = Recent(REMEMBERED)
        self._fetching: dict[str, asyncio.Future[bytes]] = {}

    @property
    def client(self) -> SimpleAsyncHTTPClient:
        """An HTTP client of our own, made on the server's event loop when first needed: its
        body limit is the per-file bound, whatever the server's AsyncHTTPClient is."""
        if self._client is None:
            self._client = SimpleAsyncHTTPClient(
                force_instance=True,
                # bodies are bounded as they stream in (TooBig), by max_file
                max_body_size=UNBOUNDED,
                defaults={
                    "connect_timeout": CONNECT_TIMEOUT,
                    "request_timeout": REQUEST_TIMEOUT,
                    "user_agent": "jupyter-comm-bridge",
                },
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def where(self, module: str, range_: str) -> str:
        return f"{self.url}/{module}@{range_}"

    async def find(self, module: str, range_: str) -> ModuleFound:
        """The module's ``dist/index.js`` for the newest version in ``range_`` (fetched, so
        that the page's request is served from the cache); NotServed if the CDN has none."""
        version = await self._resolve(module, range_)
        try:
            await self.file(module, version, CDN_ENTRY)
        except NotServed as e:
            raise NotServed(f"{CDN_ENTRY}: {e.why}", version) from None
        base = files_base("cdn", NPM, module, version)
        return ModuleFound(
            module=module, version=version, format="amd", source="cdn", base=base, entry=CDN_ENTRY
        )

    async def _resolve(self, module: str, range_: str) -> str:
        now = time.monotonic()
        known = self._resolved.get((module, range_))
        if known is not None and now < known[0]:
            if known[2]:
                raise NotServed(known[2], known[1] or None)
            return known[1]
        try:
            version = await self._resolve_now(module, range_)
        except NotServed as e:
            self._resolved.add((module, range_), (now + MISSING_FOR, e.found or "", e.why))
            raise
        self._resolved.add((module, range_), (now + RESOLVED_FOR, version, ""))
        return version

    async def _resolve_now(self, module: str, range_: str) -> str:
        name = quote(module, safe="@/")
        url = f"{self.url}/{name}@{quote(range_, safe='')}/package.json"
        body = await self._get(url, f"{self.url}/{name}@")
        try:
            package = json.loads(body)
        except ValueError as e:
            raise NotServed("the CDN's package.json is not JSON") from e
        if not isinstance(package, dict) or package.get("name") != module:
            raise NotServed("the CDN answered with another package's package.json")
        version = package.get("version")
        if not isinstance(version, str) or not VERSION_SEGMENT.fullmatch(version):
            raise NotServed("the CDN's package.json has no version")
        if not satisfies(version, range_):
            raise NotServed(f"{version} does not satisfy {range_}", version)
        await asyncio.to_thread(self.cache.write, f"{NPM}/{module}/{version}/package.json", body)
        return version

    async def file(self, module: str, version: str, path: str) -> bytes:
        """A file of the npm package ``module@version``, from the cache or the CDN."""
        parts = relative_parts(path)
        exact = VERSION_SEGMENT.fullmatch(version) and is_exact_version(version)
        if parts is None or not is_npm_name(module) or not exact:
            raise NotServed("not a file of an npm package")
        key = "/".join((NPM, module, version, *parts))
        body = await asyncio.to_thread(self.cache.read, key)
        if body is not None:
            return body
        now = time.monotonic()
        missing = self._missing.get(key)
        if missing is not None and now < missing[0]:
            raise NotServed(missing[1])
        prefix = f"{self.url}/{quote(module, safe='@/')}@{quote(version, safe='')}/"
        try:
            body = await self._get(prefix + quote(path, safe="/"), prefix)
        except NotServed as e:
            self._missing.add(key, (now + MISSING_FOR, e.why))
            raise
        await asyncio.to_thread(self.cache.write, key, body)
        return body

    async def _get(self, url: str, within: str) -> bytes:
        """GET ``url`` (redirects followed only within ``within``), once for all who ask."""
        pending = self._fetching.get(url)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(url, within))
            self._fetching[url] = pending
            pending.add_done_callback(lambda _: self._fetching.pop(url, None))
        # shielded: a request going away does not cancel the fetch the others wait for
        return await asyncio.shield(pending)

    async def _fetch(self, url: str, within: str) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            code, location, body = await self._fetch_once(url)
            if code in REDIRECTS and location:
                url = urljoin(url, location)
                if not _stays_within(url, within):
                    raise NotServed(f"the CDN redirected outside {within}")
                continue
            if code == 200:
                return body
            raise NotServed(f"the CDN answered {code}")
        raise NotServed("the CDN redirected too many times")

    async def _fetch_once(self, url: str) -> tuple[int, str, bytes]:
        """One GET: its status, Location and body (read up to ``max_file`` bytes)."""
        chunks: list[bytes] = []
        size = 0

        def receive(chunk: bytes) -> None:
            nonlocal size
            size += len(chunk)
            if size > self.max_file:  # tornado then closes the connection, failing the fetch
                raise TooBig()
            chunks.append(chunk)

        try:
            response = await self.client.fetch(
                url, follow_redirects=False, raise_error=False, streaming_callback=receive
            )
        except Exception as e:  # too big; unreachable, timed out: tornado's errors
            if size > self.max_file:
                raise NotServed(f"the CDN's file is bigger than {self.max_file} bytes") from e
            self.log.warning("comm-bridge: widget CDN: %s: %s", url, e)
            raise NotServed(f"fetching from the CDN failed ({e})") from e
        return response.code, response.headers.get("Location", ""), b"".join(chunks)
