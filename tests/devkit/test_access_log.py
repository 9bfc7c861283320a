"""The local server's access log never shows a source's push key."""
from __future__ import annotations

from devkit.runtime import _log_without_keys


class Handler:
    def address_string(self) -> str:
        return "127.0.0.1"

    def log_date_time_string(self) -> str:
        return "01/Dec/2026 21:28:03"


def test_the_push_key_is_masked_in_the_access_log(capsys):
    _log_without_keys(Handler(), '"%s" %s %s', "POST /push/src_1?key=s3cretKey-_x&x=1 HTTP/1.1", "202", "-")
    logged = capsys.readouterr().err
    assert "s3cretKey" not in logged and "/push/src_1?key=****&x=1" in logged
