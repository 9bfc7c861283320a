"""Fetch a picture from an address a producer named, without letting that address reach inside.

The address is someone else's text: it could name the cloud's metadata service, a private network, or a
host that resolves to a public address for the check and to a private one for the connection (DNS
rebinding). So each hop is resolved once, every address it resolves to is checked, and the connection
goes to the checked address itself (TLS still verified against the host name); a redirect is another
hop, checked the same way, at most MAX_REDIRECTS of them. Hosts an integration lists in ``image_hosts``
may resolve to private addresses (an inner Grafana); the metadata addresses never. What arrives is
bounded in time (TOTAL_SECONDS for everything) and size, and must be a PNG, JPEG or GIF by its
Content-Type and by its first bytes. Every refusal is a FetchRefused whose message is short and safe to
show (Chinese, then English).
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3

MAX_URL = 2048
MAX_REDIRECTS = 3
TOTAL_SECONDS = 5.0
ABSOLUTE_MAX_BYTES = 10 * 1024 * 1024  # whatever a platform takes, a picture is held in memory once
CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
# Cloud metadata services (AWS IMDS over IPv4 and IPv6): never fetched, whatever image_hosts says.
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
# The first bytes each accepted type starts with (PNG spec §5.2, JPEG SOI + marker, GIF87a/GIF89a header).
SIGNATURES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
              "image/gif": (b"GIF87a", b"GIF89a")}
TYPE_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}


class FetchRefused(Exception):
    """Why a picture was not fetched, worded for an operator (no internals, no addresses resolved)."""


@dataclass(frozen=True)
class Picture:
    url: str  # the address as the producer named it
    data: bytes
    content_type: str  # one of SIGNATURES, matching the bytes
    public: bool  # every hop reached a public address: a platform's own servers could fetch it too

    @property
    def filename(self) -> str:
        """The name an upload's multipart part carries (platforms read the type from it too)."""
        return f"picture.{EXTENSIONS[self.content_type]}"

    def part(self) -> tuple[str, bytes, str]:
        """The picture as a multipart file part: (filename, bytes, content type)."""
        return self.filename, self.data, self.content_type


@dataclass(frozen=True)
class _Hop:
    scheme: str
    host: str  # lower-case, no brackets, no trailing dot
    port: int
    target: str  # path and query
    host_header: str


def readable_size(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB" if size >= 1024 * 1024 else f"{size / 1024:g} KB"


def picture(url: str, max_bytes: int, types: frozenset[str], allowed_hosts: list[str] | tuple[str, ...] = ()
            ) -> Picture:
    """The picture at ``url``, at most ``max_bytes`` (and ABSOLUTE_MAX_BYTES), of one of ``types``; raises
    FetchRefused. ``allowed_hosts``: host names that may resolve to private addresses."""
    limit = min(max_bytes, ABSOLUTE_MAX_BYTES)
    allowed = {host.lower().rstrip(".").strip("[]") for host in allowed_hosts}
    deadline = time.monotonic() + TOTAL_SECONDS
    current, public = url, True
    for _ in range(MAX_REDIRECTS + 1):
        hop = _hop(current)
        address, hop_public = _checked_address(hop, allowed)
        public = public and hop_public
        response = _request(hop, address, deadline)
        try:
            if response.status in REDIRECTS:
                current = _next(current, response)
                continue
            if response.status != 200:
                raise FetchRefused(f"图片下载失败 image download failed (HTTP {response.status})")
            content_type = _content_type(response, types)
            data = _body(response, limit, deadline)
        finally:
            response.release_conn()
        _check_signature(data, content_type)
        return Picture(url, data, content_type, public)
    raise FetchRefused(f"图片地址跳转超过 {MAX_REDIRECTS} 次 image URL redirects more than {MAX_REDIRECTS} times")


def _hop(url: str) -> _Hop:
    if len(url) > MAX_URL:
        raise FetchRefused(f"图片地址过长 image URL over {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRefused("图片地址无效 image URL is malformed") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchRefused("图片地址须为 http(s) image URL must be http:// or https://")
    if parts.username or parts.password:
        raise FetchRefused("图片地址不能带账号 image URL must not carry credentials")
    scheme = parts.scheme.lower()
    host = parts.hostname.rstrip(".")
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return _Hop(scheme, host, port or default, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                shown if port in (None, default) else f"{shown}:{port}")


def _checked_address(hop: _Hop, allowed: set[str]) -> tuple[str, bool]:
    """The one address this hop connects to (resolved once), and whether every address was public."""
    try:
        found = socket.getaddrinfo(hop.host, hop.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchRefused("图片地址无法解析 image host does not resolve") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    if not addresses:
        raise FetchRefused("图片地址无法解析 image host does not resolve")
    if any(_unmapped(a) in METADATA for a in addresses):
        raise FetchRefused("图片地址指向云元数据服务 image URL points to the cloud metadata service")
    public = all(_is_public(a) for a in addresses)
    if not public and hop.host not in allowed:
        raise FetchRefused("图片地址指向内网 image URL points to a private address "
                           "(list its host in the integration's image_hosts if it is yours)")
    return str(addresses[0]), public


def _unmapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4-mapped IPv6 address (::ffff:10.0.0.1) as the IPv4 address it is."""
    return getattr(address, "ipv4_mapped", None) or address


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not private, loopback, link-local, CGNAT (100.64/10, outside is_global), multicast, unspecified or
    reserved."""
    address = _unmapped(address)
    return address.is_global and not (address.is_multicast or address.is_unspecified or address.is_reserved)


def _request(hop: _Hop, address: str, deadline: float) -> urllib3.BaseHTTPResponse:
    """GET ``hop`` from ``address``; TLS is verified against the hop's host name, not the address."""
    timeout = urllib3.Timeout(connect=_left(deadline), read=_left(deadline))
    if hop.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address, hop.port, timeout=timeout, retries=False, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
            server_hostname=hop.host, assert_hostname=hop.host)
    else:
        pool = urllib3.HTTPConnectionPool(address, hop.port, timeout=timeout, retries=False)
    headers = {"Host": hop.host_header, "Accept": ", ".join(SIGNATURES), "User-Agent": "dutybridge-pictures"}
    try:
        return pool.urlopen("GET", hop.target, headers=headers, redirect=False, retries=False,
                            preload_content=False, assert_same_host=False)
    except urllib3.exceptions.SSLError as exc:
        raise FetchRefused("图片地址的证书无效 image host's TLS certificate is not valid") from exc
    except urllib3.exceptions.NewConnectionError as exc:  # refused or unreachable (a ConnectTimeoutError too)
        raise FetchRefused("图片下载失败 image download failed (no connection)") from exc
    except urllib3.exceptions.TimeoutError as exc:
        raise _timed_out() from exc
    except urllib3.exceptions.HTTPError as exc:
        raise FetchRefused("图片下载失败 image download failed (no connection)") from exc


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out()
    return left


def _timed_out() -> FetchRefused:
    return FetchRefused(f"图片下载超时 image download took over {TOTAL_SECONDS:g} s")


def _next(current: str, response: urllib3.BaseHTTPResponse) -> str:
    location = response.headers.get("Location", "")
    if not location:
        raise FetchRefused("图片地址跳转无目标 image URL redirects nowhere")
    return urljoin(current, location)


def _content_type(response: urllib3.BaseHTTPResponse, types: frozenset[str]) -> str:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not content_type.startswith("image/"):
        raise FetchRefused(f"不是图片 not an image ({content_type[:60] or 'no Content-Type'})")
    if content_type not in types or content_type not in SIGNATURES:
        taken = "/".join(TYPE_NAMES[t] for t in SIGNATURES if t in types)
        raise FetchRefused(f"图片格式不支持 image type {content_type[:60]} not taken here (only {taken})")
    return content_type


def _body(response: urllib3.BaseHTTPResponse, limit: int, deadline: float) -> bytes:
    """The body, refused as soon as it passes ``limit`` bytes or the deadline (each read waits only for the
    time left)."""
    too_large = FetchRefused(f"图片过大 image over {readable_size(limit)}")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    chunks, size = [], 0
    while True:
        _wait_at_most(response, _left(deadline))
        try:
            chunk = response.read1(CHUNK)
        except (urllib3.exceptions.TimeoutError, socket.timeout) as exc:
            raise _timed_out() from exc
        except urllib3.exceptions.HTTPError as exc:
            raise FetchRefused("图片下载中断 image download broke off") from exc
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)


def _wait_at_most(response: urllib3.BaseHTTPResponse, seconds: float) -> None:
    """Let the next socket read wait no longer than the time left, so a trickling server cannot stretch it."""
    sock = getattr(getattr(response, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _check_signature(data: bytes, content_type: str) -> None:
    if not any(data.startswith(signature) for signature in SIGNATURES[content_type]):
        raise FetchRefused(f"图片内容不是 {TYPE_NAMES[content_type]} image bytes are not a {TYPE_NAMES[content_type]}")
