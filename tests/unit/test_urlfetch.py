"""Safe URL loading, against a throwaway HTTP server on loopback (no other network)."""

from __future__ import annotations

import http.server
import ipaddress
import threading
import time

import pytest

from audiolab.core import limits, urlfetch
from audiolab.core.errors import AudioLabError

LOOPBACK_ONLY = ipaddress.ip_address("127.0.0.1").__eq__


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(request):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_downloads_the_exact_bytes_through_redirects(server, sine_wav):
    data = sine_wav.read_bytes()
    Handler.routes = {
        "/a": (302, {"Location": "/b"}, b""),
        "/b": (301, {"Location": f"{server}/clip.wav"}, b""),
        "/clip.wav": (200, {"Content-Type": "audio/wav"}, data),
    }
    assert urlfetch.fetch_url(f"{server}/a", address_ok=LOOPBACK_ONLY) == data


def test_a_redirect_to_another_address_is_checked_again(server):
    Handler.routes = {"/r": (302, {"Location": "http://127.0.0.2:9/secret"}, b"")}
    with pytest.raises(AudioLabError, match="private, local or reserved address"):
        urlfetch.fetch_url(f"{server}/r", address_ok=LOOPBACK_ONLY)


def test_too_many_redirects_are_refused(server):
    Handler.routes = {f"/{i}": (302, {"Location": f"/{i + 1}"}, b"") for i in range(10)}
    with pytest.raises(AudioLabError, match="Too many redirects"):
        urlfetch.fetch_url(f"{server}/0", address_ok=LOOPBACK_ONLY)


def test_downloads_over_the_size_cap_are_refused(server, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    Handler.routes = {"/big": (200, {}, bytes(5000))}
    with pytest.raises(AudioLabError, match="limit"):
        urlfetch.fetch_url(f"{server}/big", address_ok=LOOPBACK_ONLY)


def test_http_errors_are_reported(server):
    Handler.routes = {}
    with pytest.raises(AudioLabError, match="HTTP 404"):
        urlfetch.fetch_url(f"{server}/nothing", address_ok=LOOPBACK_ONLY)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x.wav", "http://localhost/x.wav", "http://10.1.2.3/x", "http://192.168.0.1/x",
     "http://169.254.169.254/latest/meta-data", "http://[::1]/x", "http://0.0.0.0/x", "http://224.0.0.1/x",
     "http://[::ffff:127.0.0.1]/x", "http://[2002:7f00:1::]/x", "http://[2002:a00:1::1]/x",
     "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x", "http://[64:ff9b::7f00:1]/x", "http://[64:ff9b:1::a9fe:a9fe]/x",
     "http://[::127.0.0.1]/x", "http://[::ffff:0:7f00:1]/x", "http://[fe80::1]/x", "http://[fc00::1]/x"],
)  # fmt: skip
def test_private_and_local_addresses_are_refused_by_default(url):
    with pytest.raises(AudioLabError, match="private, local or reserved"):
        urlfetch.fetch_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.wav", "concat:a.wav|b.wav", "", "http://"])
def test_only_http_and_https_urls_are_accepted(url):
    with pytest.raises(AudioLabError):
        urlfetch.fetch_url(url)


def test_public_addresses_pass_the_check():
    assert urlfetch.is_public_address(ipaddress.ip_address("93.184.215.14"))
    assert not urlfetch.is_public_address(ipaddress.ip_address("100.64.0.1"))  # carrier-grade NAT


@pytest.mark.parametrize(
    "address",
    ["2002:7f00:1::", "2002:808:808::", "2001:0:4136:e378:8000:63bf:80ff:fffe", "64:ff9b::808:808",
     "64:ff9b:1::808:808", "::8.8.8.8", "::ffff:0:808:808"],
)  # fmt: skip
def test_ipv6_forms_that_embed_an_ipv4_address_are_refused(address):
    """6to4, Teredo, NAT64, IPv4-compatible and -translated forms reach an IPv4 host through a relay:
    refused even when it is public (the relay decides where they go)."""
    assert not urlfetch.is_public_address(ipaddress.ip_address(address))


def test_a_public_ipv6_address_and_a_mapped_public_ipv4_address_pass():
    assert urlfetch.is_public_address(ipaddress.ip_address("2606:4700:4700::1111"))
    assert urlfetch.is_public_address(ipaddress.ip_address("::ffff:93.184.215.14"))


class Dripper(http.server.BaseHTTPRequestHandler):
    """Sends one byte every ``interval`` seconds: of the status line and headers (``/header``),
    or of a body announced as 1000 bytes long (``/body``)."""

    interval = 0.5

    def do_GET(self):
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        if self.path == "/body":
            self.wfile.write(head)
            self.wfile.flush()
            head = bytes(1000)
        for byte in head:
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return
            time.sleep(self.interval)

    def log_message(self, *args):
        pass


@pytest.fixture
def dripping_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Dripper)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize("path", ["/header", "/body"])
def test_a_slow_sender_is_cut_at_the_wall_clock_deadline(dripping_server, monkeypatch, path):
    """A byte every 0.5 s never trips a per-read timeout (2 s here); the total limit (3 s) still ends it."""
    monkeypatch.setattr(limits, "URL_TOTAL_TIMEOUT_S", 3.0)
    monkeypatch.setattr(limits, "URL_CONNECT_TIMEOUT_S", 2.0)
    start = time.monotonic()
    with pytest.raises(AudioLabError, match="took longer than 3 s") as err:
        urlfetch.fetch_url(f"{dripping_server}{path}", address_ok=LOOPBACK_ONLY)
    elapsed = time.monotonic() - start
    assert 3.0 <= elapsed < 10.0  # the deadline itself, not a speed check: without it this runs 20 s or 500 s
    assert "3 秒" in err.value.zh
