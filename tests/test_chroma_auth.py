"""RAG_CHROMA_TOKEN and https: a real `chroma run` behind a real proxy that checks tokens.

Chroma 1.5's `chroma run` authenticates nobody: its Rust frontend ships only a no-op
auth provider and its config has no auth section (the first test here shows it serves a
request without a token, so it fails, and says what to do, the day that changes).  A
server that needs a token is therefore Chroma Cloud or `chroma run` behind a proxy that
checks the token; the proxy here is that, in a thread of the test: it forwards every
request to the real server only when ``X-Chroma-Token`` holds its token, and answers
401 otherwise, the way an authenticating proxy does.
"""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import run_process
from test_server_mode import ChromaServer, assert_one_sentence, rag_cli, rag_env

from rag.config import Settings
from rag.store import Store, StoredChunk, StoreError

TOKEN = "ck-7Qd!x-s3cret"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


class TokenProxy(ThreadingHTTPServer):
    """Forwards to ``upstream`` the requests that carry ``token``; 401 for the others."""

    daemon_threads = True

    def __init__(self, upstream: int, token: str, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.token = token
        self.seen: list[str | None] = []  # the token header of every request, in order
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if context else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)


class _Forward(BaseHTTPRequestHandler):
    server: TokenProxy

    def _forward(self) -> None:
        sent = self.headers.get("X-Chroma-Token")
        self.server.seen.append(sent)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if sent != self.server.token:
            self._reply(401, b"401 Unauthorized", {"Content-Type": "text/plain"})
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            self._reply(answer.status, data, kept)
        finally:
            upstream.close()

    def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def chroma_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("auth") / "chroma-server")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(chroma_run: ChromaServer) -> Iterator[TokenProxy]:
    guard = TokenProxy(chroma_run.port, TOKEN)
    try:
        yield guard
    finally:
        guard.stop()


def settings_for(url: str, token: str | None, name: str = "auth") -> Settings:
    return Settings(chroma_url=url, chroma_token=token, collection=name, _env_file=None)


def test_chroma_run_itself_checks_no_token(chroma_run: ChromaServer) -> None:
    """If this fails, chromadb's `chroma run` now enforces tokens: test against it directly."""
    with urllib.request.urlopen(f"{chroma_run.url}/api/v2/auth/identity", timeout=10) as reply:
        identity = json.load(reply)
    assert identity["user_id"] == "", identity  # anonymous, and served


def test_the_right_token_is_sent_as_chromas_header_and_works(
    rag_env: Path, proxy: TokenProxy
) -> None:
    store = Store(settings_for(proxy.url, TOKEN))
    store.add_chunks([StoredChunk("a-0", "a.txt", 0, 5, "Tidal", "A", "2024-03-14")], [[1.0, 0.0]])
    [(chunk, _)] = store.query([1.0, 0.0], 1)
    assert chunk.source == "a.txt"
    assert proxy.seen and set(proxy.seen) == {TOKEN}  # on every request, heartbeat included


@pytest.mark.parametrize(
    ("token", "sentence"),
    [
        (None, "requires a token; set RAG_CHROMA_TOKEN to the server's token."),
        ("wrong-token", "refused the token in RAG_CHROMA_TOKEN; set it to the server's token."),
    ],
)
def test_a_missing_or_wrong_token_is_one_sentence(
    rag_env: Path, proxy: TokenProxy, token: str | None, sentence: str
) -> None:
    with pytest.raises(StoreError) as refused:
        Store(settings_for(proxy.url, token))
    assert str(refused.value) == f"The Chroma server at {proxy.url} {sentence}"


def test_a_token_revoked_while_in_use_is_the_same_sentence(
    rag_env: Path, proxy: TokenProxy
) -> None:
    store = Store(settings_for(proxy.url, TOKEN, name="revoked"))
    assert store.count() == 0
    proxy.token = "rotated-token"
    with pytest.raises(StoreError, match=r"refused the token in RAG_CHROMA_TOKEN; set it to"):
        store.count()


def test_a_token_no_server_could_hold_is_refused_before_connecting(rag_env: Path) -> None:
    with pytest.raises(StoreError, match=r"^RAG_CHROMA_TOKEN holds characters no Chroma token has"):
        Store(settings_for("http://127.0.0.1:9", "two words"))


def test_the_terminal_says_it_in_one_sentence(settings: Settings, proxy: TokenProxy) -> None:
    env = rag_env(settings, proxy.url)
    env["RAG_CHROMA_TOKEN"] = "wrong-token"
    done = rag_cli(env, "status", timeout=120)
    assert done.returncode == 1, done.stderr
    assert_one_sentence(done.stderr)
    assert "refused the token in RAG_CHROMA_TOKEN" in done.stderr
    env["RAG_CHROMA_TOKEN"] = TOKEN
    done = rag_cli(env, "status", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["store"] == proxy.url


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    run_process(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    cert.with_suffix(".key").write_bytes(key.read_bytes())
    return cert


def test_https_with_a_token(
    rag_env: Path, chroma_run: ChromaServer, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.with_suffix(".key"))
    guard = TokenProxy(chroma_run.port, TOKEN, context)
    try:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        with pytest.raises(StoreError) as untrusted:
            Store(settings_for(guard.url, TOKEN, name="tls"))
        assert str(untrusted.value) == (
            f"The Chroma server at {guard.url} presented a certificate this machine does not "
            "trust; set SSL_CERT_FILE to the bundle that signed it."
        )
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        store = Store(settings_for(guard.url, TOKEN, name="tls"))
        store.add_chunks([StoredChunk("t-0", "t.txt", 0, 3, "TLS", "T", None)], [[0.0, 1.0]])
        assert [c.chunk_id for c in store.get_chunks(["t-0"])] == ["t-0"]
        assert TOKEN in guard.seen
    finally:
        guard.stop()
