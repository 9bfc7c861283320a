"""Sources (README, "Sources"): where Alertmanager, Grafana and webhooks push, and what a push becomes.

A push is validated and queued at once (the producer gets its 202 in milliseconds, whatever the
platforms are doing); the notifications worker then applies it: one incident per alert group, routed
by the source's rules on the group's common labels. The push key is kept only as a hash: the full
``push_url`` is shown when the source is created or its key rotated, masked afterwards.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import logging
import re
import secrets
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from chalicelib.common import clock, queues, sealing
from chalicelib.common.config import settings
from chalicelib.common.errors import InvalidInput, NotFound, PayloadTooLarge, Unauthorized, readable
from chalicelib.common.ids import ID_PATTERN
from chalicelib.core import alert_incidents
from chalicelib.core.alerts import AlertGroup
from chalicelib.core.models import RESERVED_ID, Notification, Strict, Targets, reserved_id
from chalicelib.flows import fanout
from chalicelib.sources import kind, names
from chalicelib.sources.base import SECRET_SETTINGS
from chalicelib.store import alert_groups
from chalicelib.store import sources as store

log = logging.getLogger("dutybridge.sources")
# SQS carries at most 256 KiB: a larger group travels compressed, and one too large even so is refused.
COMPRESS_ABOVE = 64 * 1024
MAX_QUEUED = 250 * 1024
MAX_REGEX = 256


class SourceRule(Strict):
    match: dict[str, Annotated[str, Field(max_length=MAX_REGEX)]] = Field(min_length=1, max_length=20)
    targets: Targets

    @field_validator("match")
    @classmethod
    def _regexes_compile(cls, match: dict[str, str]) -> dict[str, str]:
        for label, wanted in match.items():
            if wanted.startswith("~"):
                try:
                    re.compile(wanted[1:])
                except re.error as exc:
                    raise ValueError(f"match.{label}: not a regular expression ({exc.msg})") from exc
        return match


class SourceIn(Strict):
    id: str | None = Field(default=None, pattern=ID_PATTERN, max_length=64)
    kind: str
    name: str = Field(min_length=1, max_length=128)
    targets: Targets = Field(default_factory=Targets)
    rules: list[SourceRule] = Field(default_factory=list, max_length=50)
    settings: dict = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _not_a_report_prefix(cls, value: str | None) -> str | None:
        if value is not None and reserved_id(value):  # its incidents' ids would fall among the reports'
            raise ValueError(RESERVED_ID)
        return value

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in names():
            raise ValueError(f"kind must be one of {', '.join(names())}")
        return value


class SourcePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    targets: Targets | None = None
    rules: list[SourceRule] | None = Field(default=None, max_length=50)
    settings: dict | None = None  # merged into the current settings; a null value removes a setting
    rotate_key: bool = False


class QueuedPush(BaseModel):
    """A validated alert-group push on the notifications queue (dutybridge's own, never a producer's)."""

    source_push: Literal[1] = 1
    source_id: str
    received_at: float
    group: AlertGroup | None = None
    group_gz: str | None = None  # the group's JSON, gzip and base64, when it is large

    def alert_group(self) -> AlertGroup:
        if self.group is not None:
            return self.group
        return AlertGroup.model_validate_json(gzip.decompress(base64.b64decode(self.group_gz or "")))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def push_url(source_id: str, key: str) -> str:
    return f"{settings().public_base_url}/push/{source_id}?key={key}"


def get(source_id: str) -> dict:
    item = store.get(source_id)
    if item is None:
        raise NotFound(f"source {source_id} does not exist")
    return item


def view(item: dict, key: str | None = None) -> dict:
    """The admin's view: the full push_url only right after the key was made, secrets masked always."""
    shown = key or sealing.mask(item["key_hint"])
    masked = {name: "****" for name in item.get("secret_names", [])}
    return {"id": item["id"], "kind": item["kind"], "name": item["name"],
            "push_url": push_url(item["id"], shown), "targets": item["targets"], "rules": item["rules"],
            "settings": {**item["settings"], **masked}, "created_at": item["created_at"]}


def _settings(kind_name: str, plain: dict, secrets_now: dict, url_before: str | None = None) -> tuple[dict, dict]:
    """(plain settings, secrets) once validated together. ``url_before``: the silence URL before this change,
    given when ``secrets_now`` holds secrets kept from before: a secret is sent only to the address it
    was given for, so moving the URL without giving the secret again is refused."""
    source_kind = kind(kind_name)
    try:
        parsed = source_kind.Settings.model_validate({**plain, **secrets_now})
    except ValidationError as exc:
        raise InvalidInput(readable(exc, "settings.")) from exc
    values = parsed.model_dump(mode="json", exclude_none=True)
    url_name, secret_name = source_kind.silence_url_setting, source_kind.silence_secret_setting
    if url_before is not None and secret_name in secrets_now and values.get(url_name) != url_before:
        raise InvalidInput(f"settings.{secret_name}: give it again when {url_name} changes "
                           f"(a secret is only sent to the address it was given for)")
    return values, {name: values.pop(name) for name in SECRET_SETTINGS if name in values}


def _stored(item: dict, values: dict, secrets_now: dict) -> dict:
    item.update(settings=values, sealed=sealing.seal(secrets_now) if secrets_now else None,
                secret_names=sorted(secrets_now), updated_at=clock.iso())
    return item


def create(body: SourceIn) -> dict:
    values, secrets_now = _settings(body.kind, body.settings, {})
    key = secrets.token_urlsafe(24)
    item = {"id": body.id or f"src_{secrets.token_hex(6)}", "kind": body.kind, "name": body.name,
            "targets": body.targets.model_dump(mode="json"), "rules": [r.model_dump(mode="json") for r in body.rules],
            "key_hash": _hash(key), "key_hint": key[-4:].rjust(12, "*"), "created_at": clock.iso()}
    store.create(_stored(item, values, secrets_now))
    return view(item, key)


def update(source_id: str, patch: SourcePatch) -> dict:
    item = get(source_id)
    kept = sealing.unseal(item["sealed"]) if item.get("sealed") else {}
    given = patch.settings or {}
    plain = {k: v for k, v in {**item["settings"], **given}.items() if v is not None and k not in SECRET_SETTINGS}
    secrets_given = {k: v for k, v in given.items() if k in SECRET_SETTINGS and v is not None}
    secrets_kept = {k: v for k, v in kept.items() if k not in given}
    url_name = kind(item["kind"]).silence_url_setting
    values, secrets_now = _settings(item["kind"], plain, secrets_kept, item["settings"].get(url_name))
    if secrets_given:
        values, secrets_now = _settings(item["kind"], values, {**secrets_now, **secrets_given})
    if patch.name is not None:
        item["name"] = patch.name
    if patch.targets is not None:
        item["targets"] = patch.targets.model_dump(mode="json")
    if patch.rules is not None:
        item["rules"] = [r.model_dump(mode="json") for r in patch.rules]
    key = None
    if patch.rotate_key:
        key = secrets.token_urlsafe(24)
        item.update(key_hash=_hash(key), key_hint=key[-4:].rjust(12, "*"))
    store.replace(_stored(item, values, secrets_now))
    return view(item, key)


def delete(source_id: str) -> None:
    get(source_id)
    alert_groups.remove_source(source_id)
    store.delete(source_id)


def all_views() -> list[dict]:
    return [view(item) for item in store.all()]


def routed(source: dict, labels: dict[str, str]) -> Targets:
    """Every rule whose match holds for ``labels`` adds its targets; none matching: the source's own."""
    members: list[str] = []
    chats: list[dict] = []
    for rule in source.get("rules", []):
        if all(_holds(labels.get(name), wanted) for name, wanted in rule["match"].items()):
            members += rule["targets"].get("members", [])
            chats += [c for c in rule["targets"].get("chats", []) if c not in chats]
    if not members and not chats:
        return Targets.model_validate(source["targets"])
    return Targets(members=list(dict.fromkeys(members)), chats=chats)


def _holds(value: str | None, wanted: str) -> bool:
    if wanted.startswith("~"):  # anchored, as Alertmanager's own regex matchers are
        return value is not None and re.fullmatch(wanted[1:], value) is not None
    return value == wanted


def accept_push(source_id: str, key: str, body: bytes) -> dict:
    """Check the key, validate the body in the source's format, queue it; answers what was accepted."""
    source = get(source_id)
    if not key or not hmac.compare_digest(_hash(key), source["key_hash"]):
        raise Unauthorized("missing or wrong push key")
    parsed = kind(source["kind"]).parse(body)
    if isinstance(parsed, Notification):
        if not (parsed.targets.members or parsed.targets.chats):
            parsed.targets = routed(source, parsed.incident.labels if parsed.incident else {})
        queues.notify(parsed.model_dump_json())
        return {"accepted": True, "incident_id": parsed.subject_id}
    queues.notify(_queued(source_id, parsed))
    return {"accepted": True, "alerts": len(parsed.alerts), "group": parsed.group_id}


def _queued(source_id: str, group: AlertGroup) -> str:
    message = QueuedPush(source_id=source_id, received_at=clock.now(), group=group)
    body = message.model_dump_json(exclude_none=True)
    if len(body) <= COMPRESS_ABOVE:
        return body
    packed = base64.b64encode(gzip.compress(group.model_dump_json().encode("utf-8"), 6)).decode("ascii")
    if len(packed) > MAX_QUEUED:
        raise PayloadTooLarge("alert group too large to queue even compressed: set max_alerts in the receiver")
    return message.model_copy(update={"group": None, "group_gz": packed}).model_dump_json(exclude_none=True)


def apply_push(message: QueuedPush) -> fanout.Accepted | None:
    """The queued half of a push: the group's incident opened or brought up to date; returns its jobs."""
    source = store.get(message.source_id)
    if source is None:
        raise NotFound(f"source {message.source_id} was deleted before its push was applied")
    group = message.alert_group()
    incident, changed, opened = alert_incidents.ingest(source, group, message.received_at)
    if incident is None or not (changed or opened):
        return None
    targets = routed(source, group.common_labels) if opened else Targets()
    return fanout.applied(incident, changed, targets)
