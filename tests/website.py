"""A real HTTP server on 127.0.0.1 for the fetching and feed tests.

Each path serves a ``Route``: a status, a content type, a body (bytes, or a
generator streamed without a length), an optional delay before the headers, and
an optional ETag / Last-Modified answered with 304 when the client already has
them.  Routes can be changed while the server runs (a feed that changes between
syncs), and every request's headers are recorded.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes | Callable[[], Iterator[bytes]] = b""
    type: str | None = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str | None = None
    last_modified: str | None = None


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.requests.append((self.path, dict(self.headers)))
                route = site.routes.get(self.path)
                if route is None:
                    self._send(404, "text/plain", b"not here")
                    return
                if route.delay:
                    time.sleep(route.delay)
                fresh = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified
                    and self.headers.get("If-Modified-Since") == route.last_modified
                )
                if fresh:
                    self.send_response(304)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                extra = dict(route.headers)
                if route.etag:
                    extra["ETag"] = route.etag
                if route.last_modified:
                    extra["Last-Modified"] = route.last_modified
                self._send(route.status, route.type, route.body, extra)

            def _send(
                self,
                status: int,
                kind: str | None,
                body: bytes | Callable[[], Iterator[bytes]],
                extra: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                if kind:
                    self.send_header("Content-Type", kind)
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    # The client may have given up waiting: what a timeout does.
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)
                    return
                self.send_header("Connection", "close")  # no length: the end is the close
                self.end_headers()
                self.close_connection = True
                try:
                    for piece in body():
                        self.wfile.write(piece)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what a size cap does

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def start(self) -> Site:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def article_html(
    title: str,
    paragraphs: list[str],
    *,
    author: str | None = None,
    published: str | None = None,
    outlet: str | None = None,
    canonical: str | None = None,
) -> bytes:
    """A news page: metadata in the head, navigation and footer around the article."""
    head = [f"<title>{title} | {outlet or 'News'}</title>"]
    if author:
        head.append(f'<meta name="author" content="{author}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    if outlet:
        head.append(f'<meta property="og:site_name" content="{outlet}">')
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<!doctype html><html><head>"
        + "".join(head)
        + "</head><body><nav><a href='/'>Home</a> | <a href='/world'>World</a></nav>"
        + f"<article><h1>{title}</h1>{body}</article>"
        + "<footer>Copyright 2024. All rights reserved.</footer></body></html>"
    ).encode()
