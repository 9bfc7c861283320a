"""Pictures as the simulated platforms keep them, and the sample picture the local runtime serves.

An upload API (DingTalk media/upload, Feishu im/v1/images, WeCom media/uploadimg) reads a multipart body,
checks the file the way its platform does (each simulator names its own limits and codes), and keeps the
bytes here under the reference it answers with; ``GET <mount>/_sim/media/<ref>`` serves them back so the
simulator page shows the picture where the client would. ``sample_png`` draws the panel screenshot the
walkthrough and the tests send as an incident's picture (served at ``/_sim/pictures/panel.png``).
"""
from __future__ import annotations

import email.parser
import email.policy
import secrets
import struct
import zlib
from dataclasses import dataclass
from urllib.parse import quote

from devkit.simulators.http import Request, Response, Route, json_response

# What the first bytes say a file is (each platform names the formats it takes among these).
MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
         (b"BM", "bmp"))
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp"}
SAMPLE_PATH = "/_sim/pictures/panel.png"
FORM_ROOM = 64 * 1024  # what a multipart body holds beside its file (boundaries, headers, small fields)


@dataclass(frozen=True)
class Part:
    """One multipart field: a file (with its filename) or a plain value."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str = ""

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def form(request: Request) -> dict[str, Part]:
    """The multipart/form-data fields of ``request`` by name; {} when it is not multipart."""
    content_type = request.header("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    parts = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if name:
            parts[str(name)] = Part(str(name), part.get_payload(decode=True) or b"", part.get_filename(),
                                    part.get_content_type())
    return parts


def body_over(request: Request, file_limit: int) -> bool:
    """Whether the body is too long to hold a file of at most ``file_limit`` bytes: refused before parsing."""
    return len(request.body) > file_limit + FORM_ROOM


def sniff(data: bytes) -> str | None:
    """The picture format the bytes start with (png, jpg, gif, bmp), None for anything else."""
    return next((kind for magic, kind in MAGIC if data.startswith(magic)), None)


@dataclass(frozen=True)
class Stored:
    ref: str
    data: bytes
    kind: str
    at: float


class MediaStore:
    """A platform's uploaded pictures by reference (callers hold the simulator lock)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: dict[str, Stored] = {}

    def put(self, data: bytes, kind: str, now: float) -> Stored:
        stored = Stored(self.prefix + secrets.token_urlsafe(18), data, kind, now)
        self.items[stored.ref] = stored
        return stored

    def view(self) -> list[dict]:
        return [{"ref": s.ref, "kind": s.kind, "bytes": len(s.data), "at": s.at} for s in self.items.values()]

    def route(self) -> Route:
        """``GET /_sim/media/<ref>``: the stored bytes, as the client would load them."""
        def serve(request: Request) -> Response:
            stored = self.items.get(request.params["ref"])
            if stored is None:
                return json_response(404, {"error": "no such media"})
            return Response(200, stored.data, {"Content-Type": CONTENT_TYPES[stored.kind]})

        return Route("GET", r"/_sim/media/(?P<ref>[^/]+)", serve)


def media_url(mount_url: str, ref: str) -> str:
    return f"{mount_url}/_sim/media/{quote(ref, safe='')}"


def sample_png(width: int = 480, height: int = 200) -> bytes:
    """A small panel screenshot: a white plot with a grid and a red line that spikes (zlib + struct only)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type None
        for x in range(width):
            spike = height - 30 - int(120 * max(0.0, 1 - abs(x - width * 0.7) / (width * 0.12)))
            base = height - 30 - (x * 7 % 23)
            line = min(base, spike)
            if abs(y - line) <= 1:
                row += b"\xd9\x30\x25"
            elif x % 60 == 0 or y % 40 == 0:
                row += b"\xe5\xe6\xeb"
            else:
                row += b"\xff\xff\xff"
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


SAMPLE_PNG = sample_png()


def sample_route() -> Route:
    """``GET /_sim/pictures/panel.png``: the sample picture."""
    return Route("GET", SAMPLE_PATH, lambda request: Response(200, SAMPLE_PNG, {"Content-Type": "image/png"}))
