"""Integrations: validate, prove and store a platform app's credentials (the registry builds adapters)."""
from __future__ import annotations

import hmac
import os
import re
import secrets

from pydantic import Field

from chalicelib.common import clock, sealing
from chalicelib.common.config import settings
from chalicelib.common.errors import Forbidden, InvalidInput, NotFound
from chalicelib.core import templates
from chalicelib.core.models import IntegrationPatch, SettingValue, Strict
from chalicelib.platforms import PlatformName, adapter_class, adapter_for, build, tokens
from chalicelib.platforms.base import Adapter, Opening
from chalicelib.store import chats, health, people
from chalicelib.store import integrations as store

# Settings that say where the app sends its credentials or what its pages load (api_base, oapi_base,
# accounts_base, jsapi_url, ...): moving them on an existing integration needs its secret.
ENDPOINT_SETTING = re.compile(r".+_(base|url)$")


class IntegrationIn(Strict):
    """The body of POST /integrations: the platform must be a registered one."""

    platform: PlatformName
    name: str = Field(min_length=1, max_length=128)
    credentials: dict[str, str]
    settings: dict[str, SettingValue] = Field(default_factory=dict)


def get(integration_id: str) -> dict:
    item = store.get(integration_id)
    if item is None:
        raise NotFound(f"integration {integration_id} does not exist")
    return item


def view(item: dict) -> dict:
    """The admin's view: every URL to paste, credentials masked, never a secret."""
    credentials = sealing.unseal(item["credentials"])  # once: the masks and the adapter both need it
    urls = build(item["platform"], item["id"], credentials, item["settings"]).urls(settings().public_base_url)
    return {"id": item["id"], "platform": item["platform"], "name": item["name"],
            "settings": item["settings"], "credentials": {k: sealing.mask(v) for k, v in credentials.items() if v},
            "urls": urls, "egress_ips": egress_ips(),
            "created_at": item["created_at"], "updated_at": item["updated_at"]}


def egress_ips() -> list[str]:
    return [ip.strip() for ip in os.environ.get("EGRESS_IPS", "").split(",") if ip.strip()]


def _prove_and_register(adapter_: Adapter) -> dict[str, str]:
    """Refuse an edition the platform does not have, a card template that fails over the sample incident and
    war-room settings the integration cannot honour, fetch a token (422 with the platform's code on failure),
    then register callbacks."""
    editions = type(adapter_).editions
    if (edition := adapter_.settings.edition) is not None and edition not in editions:
        raise InvalidInput(f"settings.edition: {adapter_.label[1]} has no edition {edition!r}; "
                           f"one of: {', '.join(editions)}")
    if template := getattr(adapter_.settings, "template", None):
        templates.check(template.title, template.content)
    if adapter_.war_room_wanted() and (problem := adapter_.war_room_problem()):
        raise InvalidInput(problem)
    if robot_id := getattr(adapter_.settings, "fallback_robot", None):
        robot = store.get(robot_id)
        if robot is None or adapter_class(robot["platform"]).reaches_people:
            raise InvalidInput(f"settings.fallback_robot: {robot_id} is not a robot integration "
                               f"(dingtalk-robot, feishu-robot or wecom-robot)")
    adapter_.check_credentials()
    return adapter_.after_save(adapter_.urls(settings().public_base_url))


def create(body: IntegrationIn) -> dict:
    adapter_ = build(body.platform, "pending", body.credentials, body.settings)
    assigned = type(adapter_).assigned_id(adapter_.credentials, adapter_.settings)
    integration_id = assigned or "int_" + secrets.token_hex(6)
    opened = store.get(integration_id)
    config = _merged(opened["settings"] if opened else {}, body.settings)  # keep what the platform set
    adapter_ = build(body.platform, integration_id, body.credentials, config)
    if opened is not None and not opened.get("unclaimed"):  # saved by an admin before: an existing integration
        _guard_endpoints(adapter_for(opened), adapter_, body.credentials)
    generated = _prove_and_register(adapter_)
    item = _item(integration_id, body.platform, body.name, {**adapter_.credentials.model_dump(), **generated},
                 adapter_.settings.model_dump(exclude_defaults=True))
    if opened is not None:  # opened by the platform already: saving claims it
        store.replace(item)
    else:
        store.create(item)
    for chat_id, (title_zh, title_en) in type(adapter_).fixed_chats.items():
        chats.upsert(integration_id, chat_id, title=f"{title_zh} {title_en}", active=True)
    return view(item)


def _merged(stored: dict, given: dict) -> dict:
    """The settings after a save: ``given`` over ``stored``, a setting given as null gone (back to its default)."""
    return {name: value for name, value in {**stored, **given}.items() if value is not None}


def _item(integration_id: str, platform: str, name: str, credentials: dict, config: dict) -> dict:
    return {"id": integration_id, "platform": platform, "name": name, "settings": config,
            "credentials": sealing.seal(credentials), "created_at": clock.iso(), "updated_at": clock.iso()}


def open_assigned(opening: Opening) -> None:
    """Open an integration the platform authorised (no admin yet); an existing one is kept as it is. The
    admin's first save claims it and sets it up like a new one (endpoints included)."""
    if store.get(opening.integration_id) is None:
        store.create({**_item(opening.integration_id, opening.platform, opening.name, opening.credentials,
                              opening.settings), "unclaimed": True})


def _guard_endpoints(before: Adapter, after: Adapter, given: dict[str, str]) -> None:
    """Refuse to move an existing integration's endpoints (where its secret goes on the next token fetch)
    unless the request repeats the secret stored now; compared in constant time."""
    moved = [name for name in type(after.settings).model_fields
             if ENDPOINT_SETTING.fullmatch(name) and getattr(before.settings, name) != getattr(after.settings, name)]
    if not moved:
        return
    field = type(before).secret_field
    stored = str(getattr(before.credentials, field, "") or "") if field else ""
    if not stored:
        raise Forbidden(f"{', '.join(moved)} cannot be changed on this integration (it holds no secret of its own "
                        f"to confirm the change): create a new integration instead")
    if not hmac.compare_digest(str(given.get(field, "")).encode(), stored.encode()):
        raise Forbidden(f"changing {', '.join(moved)} sends the app's credentials to another host: repeat the "
                        f"integration's current secret as credentials.{field} in the same request")


def update(integration_id: str, patch: IntegrationPatch) -> dict:
    item = get(integration_id)
    stored = sealing.unseal(item["credentials"])
    credentials = {**stored, **(patch.credentials or {})}
    config = _merged(item["settings"], patch.settings or {})
    adapter_ = build(item["platform"], integration_id, credentials, config)
    _guard_endpoints(build(item["platform"], integration_id, stored, item["settings"]), adapter_,
                     patch.credentials or {})
    if patch.credentials or patch.settings:
        for family in adapter_.token_families:  # tokens of the old credentials, here and in the table
            tokens.forget(f"{integration_id}#{family}")
        credentials = {**adapter_.credentials.model_dump(), **_prove_and_register(adapter_)}
    item.update(name=patch.name or item["name"], settings=adapter_.settings.model_dump(exclude_defaults=True),
                credentials=sealing.seal(credentials), updated_at=clock.iso())
    store.replace(item)
    return view(item)


def delete(integration_id: str) -> None:
    get(integration_id)
    people.unbind_integration(integration_id)
    store.delete(integration_id)


def all_views() -> list[dict]:
    """Every integration with its health summary as the schedule stored it (no platform is called)."""
    items = store.all()
    summaries = health.summaries([item["id"] for item in items])
    return [{**view(item), "health": summaries[item["id"]]} for item in items]


def verification_file(name: str) -> str:
    """The content an admin entered for a platform's domain-verification file, by file name."""
    for item in store.all():
        if name and item["settings"].get("verify_file") == name:
            return str(item["settings"].get("verify_content", ""))
    raise NotFound(f"{name} is not a verification file of any integration")
