"""The registry: what each platform declares about itself, and what the core derives from it."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import platforms
from chalicelib.common.errors import InvalidInput
from chalicelib.flows.integrations import IntegrationIn
from chalicelib.platforms.base import Adapter, Provider
from chalicelib.web.i18n import Words

ROOT = Path(__file__).resolve().parents[2]

# What the first three platforms declare (the values the core held before they moved onto the adapters):
# label, editions (qps, monthly calls), token families, callback content types (in the package, read
# before the adapter loads) and providers. Other platforms are checked by the test after it.
DECLARED = {
    "dingtalk": (("钉钉", "DingTalk"),
                 {"standard": (20, 10_000), "professional": (40, 500_000), "exclusive": (60, 5_500_000)},
                 ("app", "oapi"), ("application/json",), ()),
    "feishu": (("飞书", "Feishu"), {"standard": (50, None), "free": (50, 10_000)}, ("app",),
               ("application/json",), ()),
    "wecom": (("企业微信", "WeCom"), {"standard": (None, None)}, ("app",),
              ("text/xml", "application/xml", "text/plain"), ("wecom-suite",)),
}


def _content_types(name: str) -> tuple[str, ...]:
    module = platforms.REGISTRY[name].partition(":")[0]
    return importlib.import_module(module.rpartition(".")[0]).CALLBACK_CONTENT_TYPES


def test_what_each_platform_declares() -> None:
    assert platforms.names()[:len(DECLARED)] == tuple(DECLARED)
    for name in DECLARED:
        cls = platforms.adapter_class(name)
        assert (cls.label, cls.editions, cls.token_families, _content_types(name),
                tuple(p.name for p in cls.providers)) == DECLARED[name], name


@pytest.mark.parametrize("name", platforms.names())
def test_every_registered_adapter_declares_its_own_facts(name: str) -> None:
    cls = platforms.adapter_class(name)
    assert cls.name == name
    declared = [vars(c) for c in cls.__mro__ if c is not Adapter and issubclass(c, Adapter)]  # its own, or its kind's
    for fact in ("label", "editions", "token_families"):
        assert any(fact in facts for facts in declared), f"{name} does not declare {fact}"
    assert "label" in vars(cls)
    assert len(cls.label) == 2 and all(cls.label)
    assert cls.editions and all(len(limits) == 2 for limits in cls.editions.values())
    if cls.reaches_people:
        assert "app" in cls.token_families  # check_credentials() fetches this family
    else:
        assert cls.token_families == () and cls.fixed_chats  # a robot: no token, its one group
    assert _content_types(name)
    for provider in cls.providers:
        assert issubclass(provider, Provider) and provider.name.startswith(f"{name}-")
        assert type(platforms.provider(provider.name)) is provider


def test_the_core_reads_the_declarations() -> None:
    assert platforms.callback_content_types() == ["application/json", "text/xml", "application/xml", "text/plain"]
    assert (Words("zh").platform("wecom"), Words("en").platform("feishu")) == ("企业微信", "Feishu")
    assert (Words("zh").platform("api"), Words("en").platform("other")) == ("接口", "other")
    dingtalk = platforms.adapter_class("dingtalk")
    assert dingtalk.limits({}) == {"edition": "standard", "qps": 20, "monthly_calls": 10_000}
    assert dingtalk.limits({"edition": "exclusive", "qps": 30})["qps"] == 30


def test_importing_the_registry_loads_no_adapter_nor_crypto() -> None:
    probe = ("import sys; from chalicelib import platforms; platforms.names(); platforms.callback_content_types(); "
             "print(sorted(m for m in sys.modules if m.endswith('.adapter') or m.split('.')[0] in "
             "('Crypto', 'defusedxml', 'jinja2')))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize("platform", ["slack", "DingTalk", "", " dingtalk", 5, None, ["dingtalk"]])
def test_an_unknown_platform_name_is_refused_as_before(platform: object) -> None:
    """As the enum refused it: the same message for any value that is not a registered name."""
    with pytest.raises(ValueError) as refused:
        IntegrationIn.model_validate({"platform": platform, "name": "x", "credentials": {}})
    expected = [(("platform",), "Input should be 'dingtalk', 'feishu', 'wecom', 'dingtalk-robot', 'feishu-robot' "
                                "or 'wecom-robot'")]
    assert [(e["loc"], e["msg"]) for e in refused.value.errors()] == expected
    with pytest.raises(InvalidInput, match="is not supported"):
        platforms.build("slack", "int_x", {}, {})


def test_a_registered_platform_is_accepted(monkeypatch) -> None:
    monkeypatch.setitem(platforms.REGISTRY, "fake", "tests.fakes:FakeAdapter")
    assert IntegrationIn.model_validate({"platform": "fake", "name": "x", "credentials": {}}).platform == "fake"
    assert platforms.provider("fake-suite") is None and platforms.provider("nothing") is None
