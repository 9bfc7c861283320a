"""The card template setting through the admin API: saved only when it renders the sample incident."""
from __future__ import annotations

import json

import pytest

from chalicelib.flows import consumers as worker
from chalicelib.store import integrations as integration_store
from chalicelib.store import people
from tests.conftest import drain
from tests.factories import member, notification

TEMPLATE = {"title": "【{{ severity_zh }}】{{ title }}",
            "content": "服务：{{ labels.service }}\n{% for a in alerts %}{{ a.status_zh }}: {{ a.summary }}\n"
                       "{% endfor %}"}


@pytest.fixture
def api(admin_call):
    return admin_call


@pytest.fixture
def proofs(fake_platform, monkeypatch) -> list[str]:
    """Every time an integration's credentials are proven (a call to the platform)."""
    proven: list[str] = []
    monkeypatch.setattr(fake_platform, "check_credentials", lambda self: proven.append(self.integration_id))
    return proven


def _new(settings: dict) -> dict:
    return {"platform": "fake", "name": "模板", "credentials": {"secret": "s3cr3t-value-123"}, "settings": settings}


def test_a_template_that_renders_the_sample_is_saved(api) -> None:
    status, view = api("POST", "/integrations", _new({"template": TEMPLATE}))
    assert status == 201, view
    assert view["settings"]["template"] == TEMPLATE
    assert integration_store.get(view["id"])["settings"]["template"] == TEMPLATE


@pytest.mark.parametrize(("template", "message"), [
    ({"content": "ok\n{{ title }"}, "template.content line 2: unexpected '}'"),
    ({"title": "{{ titel }}"}, "template.title line 1: 'titel' is undefined"),
    ({"content": "{{ ''.__class__.__mro__ }}"}, "template.content line 1: str.__class__ is not available"),
    ({"content": "{% for i in range(5000) %}{% endfor %}"}, "template.content line 1: range() of more than 1000"),
])
def test_a_broken_template_is_422_naming_its_line_and_nothing_is_saved(api, proofs, template: dict,
                                                                       message: str) -> None:
    status, answer = api("POST", "/integrations", _new({"template": template}))
    assert (status, answer["error"]) == (422, "template_failed") and answer["message"].startswith(message), answer
    assert [i["id"] for i in api("GET", "/integrations")[1]] == ["int_fake"]
    before = integration_store.get("int_fake")
    status, answer = api("PATCH", "/integrations/int_fake", {"name": "renamed", "settings": {"template": template}})
    assert (status, answer["error"]) == (422, "template_failed") and answer["message"].startswith(message), answer
    assert integration_store.get("int_fake") == before
    assert proofs == []  # refused before the platform is asked anything


def test_patch_sets_a_template_and_null_removes_it_as_any_setting(api) -> None:
    status, view = api("PATCH", "/integrations/int_fake", {"settings": {"template": {"content": "{{ url }}"}}})
    assert status == 200 and view["settings"]["template"] == {"content": "{{ url }}"}
    status, view = api("PATCH", "/integrations/int_fake", {"settings": {"digest_minutes": 5}})
    assert status == 200 and view["settings"]["template"] == {"content": "{{ url }}"}
    status, view = api("PATCH", "/integrations/int_fake", {"settings": {"template": None}})
    assert status == 200 and "template" not in view["settings"] and view["settings"]["digest_minutes"] == 5
    assert "template" not in integration_store.get("int_fake")["settings"]
    status, view = api("PATCH", "/integrations/int_fake", {"settings": {"digest_minutes": None, "edition": None}})
    assert status == 200 and view["settings"] == {}  # back to the defaults


@pytest.mark.parametrize("wrong", [{}, {"title": " ", "content": "\n"}, {"content": "x", "other": "y"},
                                   {"content": "x" * 8001}, {"title": "x" * 1001}, "{{ title }}", ["x"],
                                   {"content": 1}])
def test_a_template_of_the_wrong_shape_is_400(api, wrong: object) -> None:
    status, answer = api("PATCH", "/integrations/int_fake", {"settings": {"template": wrong}})
    assert status == 400 and "template" in answer["message"], answer


def test_cards_follow_the_template_and_one_it_cannot_render_shows_the_default_and_says_why(
        api, client, admin_headers, fake_platform) -> None:
    """Saved over the sample, a template may still fail on a real incident (here: a label it divides by is 0)."""
    fragile = {"title": "{{ labels.service }} · {{ title }}",
               "content": "每核 Per core: {{ 100 / (labels.cores | default(1) | int) }}"}
    assert api("PATCH", "/integrations/int_fake", {"settings": {"template": fragile}})[0] == 200
    member("alice")
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    for incident_id, cores in (("inc-ok", "4"), ("inc-zero", "0")):
        labels = {"service": "db", "cores": cores}
        worker.handle_notification(json.dumps(notification(incident_id, labels=labels)))
    while jobs := drain("deliveries"):
        for job in jobs:
            worker.handle_delivery(json.dumps(job["body"]))
    shown = {card.incident_id: card for _, _, card, _ in fake_platform.sent}
    assert shown["inc-ok"].title == "db · CPU > 95% on db-1" and shown["inc-ok"].facts == [("每核 Per core", "25.0")]
    assert shown["inc-zero"].title == "CPU > 95% on db-1" and ("service", "db") in shown["inc-zero"].facts
    (ok,) = client.http.get("/incidents/inc-ok", headers=admin_headers).json_body["deliveries"]
    (fell_back,) = client.http.get("/incidents/inc-zero", headers=admin_headers).json_body["deliveries"]
    assert ok["state"] == fell_back["state"] == "sent" and "template_error" not in ok
    assert "division by zero" in fell_back["template_error"], fell_back
