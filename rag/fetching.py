"""One careful HTTP GET: the only way the product reads anything from the network.

``rag add`` and ``rag sync`` fetch pages and feeds the user named, so every fetch is
bounded and checked before a byte of it is kept:

- only ``http`` and ``https`` addresses (no ``file://``, no ``ftp://``);
- the host's addresses, and the address actually connected to, must be public:
  loopback, private, link-local and reserved ranges are refused unless
  ``RAG_FETCH_ALLOW_PRIVATE=1`` (a link in a feed must not reach the router's admin
  page or a cloud metadata service);
- redirects are followed by hand, each hop checked the same way, at most
  ``RAG_FETCH_MAX_REDIRECTS`` of them;
- the whole fetch, not only each read, must finish within ``RAG_FETCH_TIMEOUT``;
- the body is streamed and dropped as soon as it passes ``RAG_FETCH_MAX_BYTES``
  (after decompression, so a gzip bomb stops too);
- the content type must be one the caller can use.

Every failure is a ``FetchError`` whose message is one sentence naming the fix.
Nothing is fetched while answering: only these explicit steps call this module.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import httpx

from rag.config import Settings
from rag.errors import RagError

USER_AGENT = "rag/0.1 (news article reader; fetches only the pages its user asked for)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPES = frozenset({"application/pdf"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "text/plain",  # some servers label their feed so; the feed parser decides
    }
)
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(RagError):
    """A page or feed could not be fetched; the message is one sentence naming the fix."""


@dataclass(frozen=True)
class Fetched:
    url: str  # the address asked for
    final_url: str  # after redirects
    status: int  # 200, or 304 for a conditional request that found nothing new
    content_type: str  # the media type, lower case, without parameters
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def shown(url: str) -> str:
    """A URL as it appears in a message: one line, not endless."""
    url = " ".join(str(url).split())
    return url if len(url) <= 100 else url[:99] + "…"


def check_url(url: str, allow_private: bool) -> httpx.URL:
    """``url`` parsed, if it is an http(s) address of a host we may reach; else FetchError."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError(f"{shown(url)} is not a valid web address; check it.") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"{shown(url)} is not a web address; give an http:// or https:// URL.")
    if not parsed.host:
        raise FetchError(f"{shown(url)} has no host name; give a full http:// or https:// URL.")
    if not allow_private:
        for address in _addresses(parsed):
            _check_address(url, address)
    return parsed


def _addresses(url: httpx.URL) -> list[str]:
    try:
        # raw_host is the ASCII (IDNA) form that DNS is asked for: bücher.de -> xn--bcher-kva.de
        host = url.raw_host.decode("ascii")
        infos = socket.getaddrinfo(host, url.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError(
            f"The host {url.host} could not be found; check the address and the network."
        ) from None
    return sorted({str(info[4][0]) for info in infos})


def _check_address(url: str, address: str) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    if not ip.is_global or ip.is_multicast:
        raise FetchError(
            f"{shown(url)} points at a private or local address ({ip}); only public sites "
            "are fetched, unless you set RAG_FETCH_ALLOW_PRIVATE=1."
        )


def fetch(
    url: str,
    settings: Settings,
    accept: Collection[str],
    headers: Mapping[str, str] | None = None,
    what: str = "a web page (HTML) or a PDF",
) -> Fetched:
    """GET ``url`` under every limit in the module docstring.

    ``accept`` lists the media types the caller can use; anything else is refused
    naming ``what`` the caller wanted.  ``headers`` may carry If-None-Match /
    If-Modified-Since; a 304 answer comes back as ``Fetched`` with status 304.
    """
    deadline = time.monotonic() + settings.fetch_timeout
    request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    current = url.strip()
    # trust_env=False: no proxy from the environment, so the address checked is the
    # address connected to.
    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        for _hop in range(settings.fetch_max_redirects + 1):
            target = check_url(current, settings.fetch_allow_private)
            try:
                # Each hop gets what is left of the one deadline, not a fresh timeout.
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _too_slow(url, settings)
                request = client.build_request(
                    "GET", target, headers=request_headers, timeout=httpx.Timeout(left)
                )
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise _too_slow(url, settings) from None
            except httpx.HTTPError as exc:
                raise FetchError(
                    f"Could not connect to {target.host} ({_reason(exc)}); "
                    "check the address or try again later."
                ) from None
            try:
                if not settings.fetch_allow_private:
                    _check_peer(url, response)
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    current = str(response.url.join(location))
                    continue
                return _read(url, response, settings, accept, what, deadline)
            finally:
                response.close()
    raise FetchError(
        f"{shown(url)} redirected more than {settings.fetch_max_redirects} times; "
        "give the final address of the page, or raise RAG_FETCH_MAX_REDIRECTS."
    )


def _check_peer(url: str, response: httpx.Response) -> None:
    # The name was checked before connecting, but DNS may answer differently the
    # second time (rebinding): the address really connected to is what counts.
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer:
        _check_address(url, str(peer[0]))


def _read(
    url: str,
    response: httpx.Response,
    settings: Settings,
    accept: Collection[str],
    what: str,
    deadline: float,
) -> Fetched:
    status = response.status_code
    kept = {k: response.headers[k] for k in ("etag", "last-modified") if k in response.headers}
    if status == 304:
        return Fetched(url, str(response.url), 304, "", b"", kept)
    if status >= 400:
        raise FetchError(_status_sentence(url, status))
    if status != 200:
        raise FetchError(
            f"{shown(url)} answered HTTP {status} instead of the page; "
            "check the address in a browser."
        )
    cap = settings.fetch_max_bytes
    too_big = FetchError(
        f"{shown(url)} is larger than {cap:,} bytes; raise RAG_FETCH_MAX_BYTES to fetch it."
    )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_big  # refused before reading a byte of it
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in accept:
        raise FetchError(f"{shown(url)} is {media}, not {what}; give the address of {what}.")
    body = bytearray()
    try:
        for piece in response.iter_bytes():
            body += piece
            if len(body) > cap:
                raise too_big
            if time.monotonic() > deadline:
                raise _too_slow(url, settings)
    except httpx.TimeoutException:
        raise _too_slow(url, settings) from None
    except httpx.HTTPError as exc:
        raise FetchError(
            f"The download of {shown(url)} broke off ({_reason(exc)}); try again later."
        ) from None
    if not media:
        media = sniff(bytes(body[:1024]))
        if media not in accept:
            raise FetchError(f"{shown(url)} is not {what}; give the address of {what}.")
    return Fetched(url, str(response.url), 200, media, bytes(body), kept)


def sniff(head: bytes) -> str:
    """A media type for a body served without one: PDF, feed XML or HTML by its start."""
    start = head.lstrip()[:512].lower()
    if start.startswith(b"%pdf-"):
        return "application/pdf"
    if b"<rss" in start or b"<feed" in start or b"<rdf:rdf" in start:
        return "application/xml"
    if start.startswith((b"<!doctype html", b"<html")) or b"<body" in start:
        return "text/html"
    return "application/octet-stream"


def _status_sentence(url: str, status: int) -> str:
    if status == 404 or status == 410:
        return f"{shown(url)} was not found (HTTP {status}); check the address."
    if status in (401, 402, 403):
        return (
            f"{shown(url)} refused access (HTTP {status}); if it needs a login, save the page "
            "from your browser and upload the file instead."
        )
    if status == 429:
        return f"{shown(url)} asked us to slow down (HTTP 429); try again later."
    if status >= 500:
        return f"The server of {shown(url)} failed (HTTP {status}); try again later."
    return f"{shown(url)} answered HTTP {status}; check the address in a browser."


def _too_slow(url: str, settings: Settings) -> FetchError:
    return FetchError(
        f"{shown(url)} did not arrive within {settings.fetch_timeout:g} seconds; "
        "try again later or raise RAG_FETCH_TIMEOUT."
    )


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120].rstrip(".")
