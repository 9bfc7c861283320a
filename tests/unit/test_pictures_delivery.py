"""Pictures through the delivery worker: one upload per integration for every card and update of an incident;
a picture that cannot be shown never fails the card, and the incident's deliveries say why."""
from __future__ import annotations

import json

import pytest

from chalicelib.common.fetch import FetchRefused, Picture
from chalicelib.delivery import pictures
from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries, people
from devkit.simulators.media import SAMPLE_PNG
from tests.conftest import drain
from tests.factories import member, notification

URL = "https://grafana.example.com/render/panel-4.png"


def _run_deliveries() -> None:
    while jobs := drain("deliveries"):
        for job in jobs:
            worker.handle_delivery(json.dumps(job["body"]))


def _two_bound_members() -> None:
    for member_id, name, mobile in (("alice", "Alice", "13800000001"), ("bob", "Bob", "13800000002")):
        member(member_id, name, mobile)
        people.bind(member_id, "int_fake", f"u-{member_id}", name, "2026-01-01T00:00:00Z")


@pytest.fixture
def showing(fake_platform, monkeypatch):
    """The fake platform takes PNG pictures (counting its uploads); the producer's address answers the sample."""
    uploads: list[Picture] = []
    fetched: list[str] = []

    def upload(adapter, picture: Picture) -> str:
        uploads.append(picture)
        return f"ref-{len(uploads)}"

    def fetch(url, max_bytes, types, hosts) -> Picture:
        fetched.append(url)
        return Picture(url, SAMPLE_PNG, "image/png", True)

    monkeypatch.setattr(fake_platform, "image_types", frozenset({"image/png"}), raising=False)
    monkeypatch.setattr(fake_platform, "image_max_bytes", 2 << 20, raising=False)
    monkeypatch.setattr(fake_platform, "upload_image", upload, raising=False)
    monkeypatch.setattr(pictures, "picture", fetch)
    return uploads, fetched


def test_one_upload_serves_every_card_and_update_of_the_incident(showing, fake_platform):
    uploads, fetched = showing
    _two_bound_members()
    worker.handle_notification(json.dumps(notification(members=("alice", "bob"), image_url=URL)))
    _run_deliveries()
    worker.handle_notification(json.dumps(notification(members=("alice", "bob"), image_url=URL, status="resolved")))
    _run_deliveries()
    assert len(uploads) == 1 and fetched == [URL]
    assert [card.image for _, _, card, _ in fake_platform.sent] == ["ref-1", "ref-1"]
    assert [card.image for _, card in fake_platform.updated] == ["ref-1", "ref-1"]


def test_a_new_picture_is_uploaded_again(showing, fake_platform):
    uploads, _ = showing
    _two_bound_members()
    worker.handle_notification(json.dumps(notification(members=("alice",), image_url=URL)))
    _run_deliveries()
    worker.handle_notification(json.dumps(notification(members=("alice",), image_url=URL + "?t=2")))
    _run_deliveries()
    assert len(uploads) == 2 and fake_platform.updated[-1][1].image == "ref-2"


def test_a_picture_that_fails_never_fails_the_card_and_the_incident_says_why(showing, fake_platform, client,
                                                                             admin_headers, monkeypatch):
    tried: list[str] = []

    def refuse(url, max_bytes, types, hosts) -> Picture:
        tried.append(url)
        raise FetchRefused("图片过大 image over 2 MB")

    monkeypatch.setattr(pictures, "picture", refuse)
    _two_bound_members()
    worker.handle_notification(json.dumps(notification(members=("alice", "bob"), image_url=URL)))
    _run_deliveries()
    assert [card.image for _, _, card, _ in fake_platform.sent] == ["", ""]
    assert tried == [URL]  # the second card took the first one's failure instead of fetching again
    shown = client.http.get("/incidents/inc-1", headers=admin_headers).json_body
    assert [(d["state"], d["note"]) for d in shown["deliveries"]] == [
        ("sent", "图片未显示 picture not shown: 图片过大 image over 2 MB")] * 2
    assert shown["image_url"] == URL


def test_a_platform_without_pictures_says_so_on_the_delivery(fake_platform):
    _two_bound_members()
    worker.handle_notification(json.dumps(notification(members=("alice",), image_url=URL)))
    _run_deliveries()
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "sent" and "该平台的卡片不显示图片" in record["note"]


@pytest.mark.parametrize("image_url", ["javascript:alert(1)", "ftp://example.com/p.png", "/relative.png",
                                       "https://" + "x" * 2048])
def test_an_image_url_that_is_no_web_address_is_refused_with_a_400(client, admin_headers, image_url):
    body = {"version": 1, "incident": {"id": "inc-1", "title": "db down", "severity": "critical",
                                       "image_url": image_url}}
    answer = client.http.post("/incidents", headers=admin_headers, body=json.dumps(body))
    assert answer.status_code == 400 and "image_url" in answer.json_body["message"]
