"""Download audio from an http(s) URL safely (the seed streams audio from a URL).

Our code downloads the bytes and the decoder reads them from memory: a URL is never
handed to FFmpeg, which would also follow ``file:``/``concat:`` and hang on slow servers.
Every hop (up to ``URL_MAX_REDIRECTS`` redirects) is resolved and each address checked
before connecting, and the connection goes to the checked address (no DNS rebinding).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from audiolab.core import limits
from audiolab.core.errors import AudioLabError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# IPv6 forms that carry an IPv4 address inside (6to4, Teredo, NAT64, IPv4-compatible/translated):
# a relay or translator would reach that IPv4 address, so these are refused whatever they embed.
IPV4_EMBEDDING_NETWORKS = tuple(
    ipaddress.IPv6Network(net)
    for net in ("2002::/16", "2001::/32", "64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def is_public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address (not loopback/private/link-local/...).

    An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) is judged by its IPv4 address; the other
    IPv6 forms that embed an IPv4 address (:data:`IPV4_EMBEDDING_NETWORKS`) are refused."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in net for net in IPV4_EMBEDDING_NETWORKS):
            return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_private
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise AudioLabError(f"Could not resolve the host name {host!r}.", zh=f"无法解析主机名 {host!r}。") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _checked_address(url: str, address_ok: Callable[[IPAddress], bool]) -> tuple:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        if not parts.scheme:
            raise AudioLabError(
                f"{url[:80]!r} is not a URL: it must start with http:// or https://.",
                zh=f"{url[:80]!r} 不是网址：必须以 http:// 或 https:// 开头。",
            )
        raise AudioLabError(
            f"Only http:// and https:// URLs can be loaded, not {parts.scheme}://.",
            zh=f"只能加载 http:// 和 https:// 网址，不能加载 {parts.scheme}://。",
        )
    if not parts.hostname:
        raise AudioLabError("The URL has no host name.", zh="网址中没有主机名。")
    if parts.username or parts.password:
        raise AudioLabError(
            "URLs with a user name or password are not allowed.", zh="不允许使用包含用户名或密码的网址。"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    refused = [ip for ip in addresses if not address_ok(ip)]
    if refused or not addresses:
        raise AudioLabError(
            f"Refusing to load from {parts.hostname}: it resolves to a private, local or "
            f"reserved address ({refused[0] if refused else 'none'}).",
            zh=f"拒绝从 {parts.hostname} 加载：它解析到私有、本地或保留地址（{refused[0] if refused else 'none'}）。",
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, str(addresses[0]), path


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a pre-checked IP address while sending the real Host header."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a pre-checked IP address, verifying the certificate for the host name."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)  # the deadline can cut the handshake
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def _read_capped(response: http.client.HTTPResponse, cap: int) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise AudioLabError(
            f"The file at that URL is {int(declared) / 2**20:.1f} MB; the limit is {cap / 2**20:.0f} MB.",
            zh=f"该网址的文件大小为 {int(declared) / 2**20:.1f} MB；上限为 {cap / 2**20:.0f} MB。",
        )
    chunks, total = [], 0
    while chunk := response.read1(64 * 1024):
        total += len(chunk)
        if total > cap:
            raise AudioLabError(
                f"The download exceeded the {cap / 2**20:.0f} MB limit.", zh=f"下载超过了 {cap / 2**20:.0f} MB 的上限。"
            )
        chunks.append(chunk)
    return b"".join(chunks)


class _Deadline:
    """A wall-clock limit on one download: at ``deadline`` (``time.monotonic()``) the connection's
    socket is shut down, which ends any read or write blocked on it, however slowly the server
    sends (a socket timeout alone restarts with every byte that arrives)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.passed = threading.Event()
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        """Seconds left (at least a millisecond, so a timeout of 0 never means "block forever")."""
        return max(0.001, self.deadline - time.monotonic())

    def watch(self, conn: http.client.HTTPConnection) -> None:
        """Cut ``conn`` when the deadline passes (the previous connection is no longer watched)."""
        with self._lock:
            self._conn = conn

    def _cut(self) -> None:
        with self._lock:
            self.passed.set()
            sock = self._conn.sock if self._conn is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def check(self) -> None:
        """Raise the "took too long" error if the deadline has passed."""
        if self.passed.is_set() or time.monotonic() >= self.deadline:
            raise AudioLabError(
                f"The download took longer than {limits.URL_TOTAL_TIMEOUT_S:.0f} s.",
                zh=f"下载超过了 {limits.URL_TOTAL_TIMEOUT_S:.0f} 秒的时限。",
            )

    def stop(self) -> None:
        self._timer.cancel()


def fetch_url(url: str, *, address_ok: Callable[[IPAddress], bool] = is_public_address) -> bytes:
    """Download ``url`` (http/https) with redirects, timeouts and a size cap; returns bytes.

    ``address_ok`` decides which resolved addresses may be contacted (tests widen it to
    loopback); the default allows only public addresses.
    """
    url = (url or "").strip()
    if not url:
        raise AudioLabError("Please enter a URL.", zh="请输入网址。")
    deadline = _Deadline(time.monotonic() + limits.URL_TOTAL_TIMEOUT_S)
    try:
        for _ in range(limits.URL_MAX_REDIRECTS + 1):
            response, url = _get(url, address_ok, deadline)
            if response is not None:
                return response
    finally:
        deadline.stop()
    raise AudioLabError(
        f"Too many redirects (more than {limits.URL_MAX_REDIRECTS}).",
        zh=f"重定向次数过多（超过 {limits.URL_MAX_REDIRECTS} 次）。",
    )


def _get(url: str, address_ok: Callable[[IPAddress], bool], deadline: _Deadline) -> tuple[bytes | None, str]:
    """One hop: ``(body, url)`` for a 200 answer, ``(None, next_url)`` for a redirect."""
    scheme, host, port, ip, path = _checked_address(url, address_ok)
    deadline.check()
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = cls(host, ip, port, timeout=min(limits.URL_CONNECT_TIMEOUT_S, deadline.remaining()))
    deadline.watch(conn)
    try:
        conn.request("GET", path, headers={"User-Agent": "TorchAudioLab/1.0", "Accept": "audio/*,*/*"})
        response = conn.getresponse()
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("Location")
            if not location:
                raise AudioLabError(
                    "The server sent a redirect without a location.", zh="服务器发送了没有目标地址的重定向。"
                )
            return None, urljoin(url, location)
        if response.status != 200:
            raise AudioLabError(
                f"The server answered HTTP {response.status} {response.reason}.",
                zh=f"服务器返回 HTTP {response.status} {response.reason}。",
            )
        body = _read_capped(response, limits.MAX_FILE_BYTES)
        deadline.check()  # a cut connection may look like a short, complete answer
        return body, url
    except TimeoutError:
        deadline.check()
        raise AudioLabError("The server did not answer in time.", zh="服务器没有及时响应。") from None
    except (OSError, http.client.HTTPException) as err:
        deadline.check()
        raise AudioLabError(
            f"Could not download the URL: {err.__class__.__name__}.", zh=f"无法下载该网址：{err.__class__.__name__}。"
        ) from None
    finally:
        conn.close()
