"""Safe URL loading, against a throwaway HTTP server on loopback (no other network)."""

from __future__ import annotations

import http.server
import ipaddress
import threading

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
     "http://[::ffff:127.0.0.1]/x"],
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
