"""The picture fetch: one resolution per hop, connected to the checked address; public addresses only unless
listed, the metadata service never; bounded in time, size and type; short reasons."""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import time

import pytest

from chalicelib.common import fetch
from devkit.simulators.media import SAMPLE_PNG
from tests.local_http import answering

PNG_ONLY = frozenset({"image/png"})
ALL = frozenset(fetch.SIGNATURES)
GIF = b"GIF89a" + b"\0" * 20


def _refused(url: str, why: str, types: frozenset[str] = ALL, hosts=("127.0.0.1",), limit: int = 2 << 20) -> None:
    with pytest.raises(fetch.FetchRefused) as refused:
        fetch.picture(url, limit, types, hosts)
    assert why in str(refused.value)


def test_a_listed_private_host_gives_the_picture_and_says_it_is_not_public():
    with answering({"/p.png": (200, {"Content-Type": "image/png"}, SAMPLE_PNG)}) as (base, _):
        picture = fetch.picture(f"{base}/p.png", 2 << 20, PNG_ONLY, ["127.0.0.1"])
    assert (picture.data, picture.content_type, picture.public) == (SAMPLE_PNG, "image/png", False)
    assert picture.filename == "picture.png"


def test_a_private_address_is_refused_unless_listed():
    with answering({"/p.png": (200, {"Content-Type": "image/png"}, SAMPLE_PNG)}) as (base, seen):
        _refused(f"{base}/p.png", "图片地址指向内网 image URL points to a private address", hosts=())
    assert seen == []  # refused before any connection


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1",
                                     "100.64.0.1", "224.0.0.1", "0.0.0.0", "240.0.0.1", "::1", "fe80::1",
                                     "fc00::1", "::ffff:10.0.0.1", "ff02::1", "::"])
def test_private_loopback_link_local_cgnat_multicast_unspecified_and_reserved_are_not_public(address):
    assert not fetch._is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address):
    assert fetch._is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_the_metadata_service_is_refused_even_when_listed(monkeypatch, address):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET6, socket.SOCK_STREAM, 6, "",
                                                                 (address, 80, 0, 0))])
    _refused("http://metadata.internal/latest/meta-data", "云元数据", hosts=("metadata.internal",))


def test_the_host_is_resolved_once_and_the_checked_address_is_the_one_connected(monkeypatch):
    """DNS rebinding: a second answer (the metadata service) is never asked for; the request still names the
    host, so virtual hosting and TLS verification work on the name."""
    answers = iter(["127.0.0.1", "169.254.169.254"])
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "pictures.test":
            asked.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with answering({"/p.png": (200, {"Content-Type": "image/png"}, SAMPLE_PNG)}) as (base, seen):
        port = base.rsplit(":", 1)[1]
        picture = fetch.picture(f"http://pictures.test:{port}/p.png", 2 << 20, PNG_ONLY, ["pictures.test"])
    assert picture.data == SAMPLE_PNG and asked == ["pictures.test"]
    assert seen == [{"path": "/p.png", "host": f"pictures.test:{port}"}]


def test_a_redirect_to_a_private_address_is_refused():
    with answering({"/go": (302, {"Location": "http://10.20.30.40/p.png"}, b"")}) as (base, _):
        _refused(f"{base}/go", "图片地址指向内网")


def test_a_redirect_to_the_metadata_service_is_refused():
    with answering({"/go": (301, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")}) as (base, _):
        _refused(f"{base}/go", "云元数据", hosts=("127.0.0.1", "169.254.169.254"))


def test_redirects_are_followed_each_checked_at_most_three():
    hops = {f"/r{n}": (302, {"Location": f"/r{n + 1}"}, b"") for n in range(4)}
    last = {"/r3": (302, {"Location": "/p.gif"}, b""), "/p.gif": (200, {"Content-Type": "image/gif"}, GIF)}
    with answering({**hops, **last}) as (base, _):
        assert fetch.picture(f"{base}/r1", 2 << 20, ALL, ["127.0.0.1"]).data == GIF  # r1 → r2 → r3 → p.gif
        _refused(f"{base}/r0", "跳转超过 3 次")


def test_a_picture_over_the_limit_is_refused_by_its_length_or_as_it_streams():
    def streamed(out) -> None:
        out.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 4096)

    with answering({"/big.png": (200, {"Content-Type": "image/png"}, SAMPLE_PNG),
                "/stream.png": (200, {"Content-Type": "image/png"}, streamed)}) as (base, _):
        _refused(f"{base}/big.png", "图片过大 image over 1 KB", limit=1024)
        _refused(f"{base}/stream.png", "图片过大", limit=1024)


def test_the_absolute_cap_holds_whatever_the_platform_allows():
    with answering({"/p.png": (200, {"Content-Type": "image/png", "Content-Length": str(fetch.ABSOLUTE_MAX_BYTES + 1)},
                           lambda out: None)}) as (base, _):
        _refused(f"{base}/p.png", "图片过大 image over 10 MB", limit=20 << 20)


@pytest.mark.parametrize("content_type, body, why", [
    ("text/html; charset=utf-8", b"<html>sign in</html>", "不是图片 not an image (text/html)"),
    ("", SAMPLE_PNG, "不是图片 not an image (no Content-Type)"),
    ("image/gif", GIF, "图片格式不支持 image type image/gif not taken here (only PNG)"),
    ("image/png", b"<svg onload=alert(1)>", "图片内容不是 PNG image bytes are not a PNG"),
])
def test_only_the_accepted_types_whose_bytes_match_pass(content_type, body, why):
    with answering({"/p": (200, {"Content-Type": content_type} if content_type else {}, body)}) as (base, _):
        _refused(f"{base}/p", why, types=PNG_ONLY)


def test_a_trickling_host_is_cut_off_at_the_deadline(monkeypatch):
    monkeypatch.setattr(fetch, "TOTAL_SECONDS", 0.6)

    def trickle(out) -> None:
        out.write(b"\x89PNG\r\n\x1a\n")
        for _ in range(20):
            time.sleep(0.1)
            out.write(b"\0")
            out.flush()

    with answering({"/slow.png": (200, {"Content-Type": "image/png"}, trickle)}) as (base, _):
        started = time.monotonic()
        _refused(f"{base}/slow.png", "图片下载超时")
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/p.png", "须为 http(s)"), ("file:///etc/passwd", "须为 http(s)"),
    ("http://user:pw@example.com/p.png", "不能带账号"), ("https://example.com/" + "a" * 2048, "过长"),
    ("http://[::1/p.png", "无效"), ("http://no-such-host.invalid/p.png", "无法解析"),
])
def test_addresses_that_are_no_web_picture_are_refused(url, why):
    _refused(url, why)


def test_a_host_that_does_not_answer_is_refused_shortly():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    _refused(f"http://127.0.0.1:{port}/p.png", "图片下载失败 image download failed (no connection)")
    assert time.monotonic() - started < 1


def _certificates(tmp_path, name: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for ``name`` signed by a fresh CA, and that CA's file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def issued(subject: str, key, issuer: str, signer, ca: bool) -> x509.Certificate:
        now, hour = datetime.datetime.now(datetime.timezone.utc), datetime.timedelta(hours=1)
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - hour).not_valid_after(now + hour)
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issued("test CA", ca_key, "test CA", ca_key, True)
    leaf = issued(name, leaf_key, "test CA", ca_key, False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    return context, str(tmp_path / "ca.pem")


@pytest.mark.parametrize("certified, answer", [("pictures.test", SAMPLE_PNG), ("elsewhere.test", None)])
def test_tls_is_verified_against_the_host_name_while_connecting_to_the_pinned_address(tmp_path, monkeypatch,
                                                                                      certified, answer):
    tls, ca = _certificates(tmp_path, certified)
    monkeypatch.setattr(fetch.certifi, "where", lambda: ca)
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))] if host == "pictures.test"
        else real(host, port, *a, **k))
    with answering({"/p.png": (200, {"Content-Type": "image/png"}, SAMPLE_PNG)}, tls) as (base, _):
        url = f"https://pictures.test:{base.rsplit(':', 1)[1]}/p.png"
        if answer:
            assert fetch.picture(url, 2 << 20, PNG_ONLY, ["pictures.test"]).data == answer
        else:
            _refused(url, "证书无效 image host's TLS certificate is not valid", hosts=("pictures.test",))
