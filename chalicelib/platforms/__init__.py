"""The platform registry: one line per platform naming where its adapter lives.

Adapters are imported on first use, so a route loads only the platform it serves (cold start).
Everything else about a platform (label, editions, token families, providers) is declared on its
adapter class; what a route needs before any adapter loads (the content types its callbacks carry)
is declared in the platform's package ``__init__``.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated

from pydantic import PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from chalicelib.common.errors import InvalidInput, readable

if TYPE_CHECKING:
    from chalicelib.platforms.base import Adapter, Provider

REGISTRY: dict[str, str] = {
    "dingtalk": "chalicelib.platforms.dingtalk.adapter:DingTalk",
    "feishu": "chalicelib.platforms.feishu.adapter:Feishu",
    "wecom": "chalicelib.platforms.wecom.adapter:WeCom",
    "dingtalk-robot": "chalicelib.platforms.dingtalk.robot:DingTalkRobot",
    "feishu-robot": "chalicelib.platforms.feishu.robot:FeishuRobot",
    "wecom-robot": "chalicelib.platforms.wecom.robot:WeComRobot",
}


def names() -> tuple[str, ...]:
    """The registered platform names, without importing any adapter."""
    return tuple(REGISTRY)


def apps() -> tuple[str, ...]:
    """The platforms whose integrations are apps reaching people one by one (the group robots left out)."""
    return tuple(name for name in REGISTRY if adapter_class(name).reaches_people)


def adapter_class(name: str) -> type[Adapter]:
    """The adapter class of platform ``name``, imported on first use; InvalidInput when unknown."""
    if name not in REGISTRY:
        raise InvalidInput(f"platform {name} is not supported")
    module, _, attribute = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def build(name: str, integration_id: str, credentials: dict, config: dict) -> Adapter:
    """An adapter from plain credentials and settings; InvalidInput naming the fields that do not fit."""
    cls = adapter_class(name)
    try:
        return cls(integration_id, cls.Credentials(**credentials), cls.Settings(**config))
    except ValidationError as exc:
        raise InvalidInput(readable(exc, prefix="credentials/settings: ")) from exc


def adapter_for(integration: dict) -> Adapter:
    """The adapter of a stored integration, its credentials unsealed."""
    from chalicelib.common import sealing  # pycryptodome: only once an integration is used
    return build(integration["platform"], integration["id"], sealing.unseal(integration["credentials"]),
                 integration["settings"])


def callback_content_types() -> list[str]:
    """Every content type some platform's callbacks carry (the callback routes accept these); a platform
    package that declares none adds none."""
    found: dict[str, None] = {}
    for path in REGISTRY.values():
        package = importlib.import_module(path.partition(":")[0].rpartition(".")[0])
        found.update(dict.fromkeys(getattr(package, "CALLBACK_CONTENT_TYPES", ())))
    return list(found)


def provider(name: str) -> Provider | None:
    """The operator-level setup ``name`` (``<platform>-<provider>``, e.g. ``wecom-suite``) that its
    platform's adapter declares, or None."""
    platform = name.partition("-")[0]
    declared = adapter_class(platform).providers if platform in REGISTRY else ()
    return next((cls() for cls in declared if cls.name == name), None)


def _registered(value: object) -> str:
    if isinstance(value, str) and value in REGISTRY:
        return value
    quoted = [repr(name) for name in REGISTRY]  # worded as pydantic words an enum: 'a', 'b' or 'c'
    expected = " or ".join(filter(None, (", ".join(quoted[:-1]), quoted[-1])))
    raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})


# A platform name in an admin request: refused as an unknown enum value would be.
PlatformName = Annotated[str, PlainValidator(_registered)]
