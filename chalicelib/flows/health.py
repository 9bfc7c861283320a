"""Integration health (README, "Health"): can it get a token, do the platform's callbacks arrive, how did the
last delivery go, how much budget is left; one state at a glance (ok, warning, failing) with the reasons.

``report`` checks live (a fresh token fetch, the full quota view) and answers ``GET /integrations/{id}/health``;
``refresh_all`` runs on a schedule with the cheap checks (the cached token, one ledger read) and stores each
integration's summary, which ``summaries`` and ``GET /integrations`` read without calling any platform.
The last callback and delivery come from marks the callback and delivery paths leave (store.health).
"""
from __future__ import annotations

from chalicelib.common import clock
from chalicelib.common.errors import AppError, PlatformError
from chalicelib.delivery import quota
from chalicelib.flows import integrations
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import Adapter
from chalicelib.platforms.errortable import verdict
from chalicelib.store import ephemeral
from chalicelib.store import health as store
from chalicelib.store import integrations as integration_store

FAILING_KINDS = ("token", "quota", "permanent")  # a last delivery refused so: nothing goes through until fixed
NO_TOKEN = "群机器人没有令牌 (a group robot has no token)"


def report(integration_id: str) -> dict:
    """The live health of one integration; its summary is stored too (the freshest check there is)."""
    item = integrations.get(integration_id)
    adapter = adapter_for(item)
    usage = quota.usage(item)
    found = _checked(item, adapter, {family: _token(adapter, family, fresh=True) for family in adapter.token_families},
                     _budget_problems(usage["used"], usage["monthly_calls"], usage["low_at"]))
    store.put_summary(integration_id, found["summary"])
    return {"integration_id": integration_id, "platform": item["platform"], **found["summary"],
            "token": found["token"], "callbacks": found["callbacks"], "card_callback": found["card_callback"],
            "last_delivery": found["last_delivery"], "budget": usage}


def refresh_all() -> int:
    """The schedule: check every integration cheaply and store its summary; returns how many were checked."""
    items = integration_store.all()
    for item in items:
        store.put_summary(item["id"], _cheap_summary(item))
    return len(items)


def summaries() -> dict[str, dict]:
    """Integration id → its stored summary (state, checked_at, problems), no platform called."""
    return store.summaries([item["id"] for item in integration_store.all()])


def _cheap_summary(item: dict) -> dict:
    try:
        adapter = adapter_for(item)
        budget = quota.budget(item["id"], item["platform"], item["settings"])
        tokens = {family: _token(adapter, family, fresh=False) for family in adapter.token_families}
        return _checked(item, adapter, tokens, _budget_problems(budget.used, budget.monthly, budget.low_at))["summary"]
    except AppError as exc:  # e.g. settings a newer release refuses: say so rather than skip the integration
        return {"state": "failing", "checked_at": clock.iso(), "problems": [exc.message]}


def _token(adapter: Adapter, family: str, fresh: bool) -> dict:
    """Whether a token can be had and until when the cached one (what deliveries use) is valid. ``fresh`` fetches
    one now, as setup does; that revokes nothing: fetched again while it lives, a token comes back the same
    (WeCom 91039, DingTalk obtain-orgapp-token) or the old one stays valid (Feishu, under 30 minutes left). The
    schedule takes the cached one, fetched only when due: both docs warn that frequent token calls are throttled."""
    try:
        if fresh:
            adapter.fetch_token(family)
        else:
            adapter.token(family)
    except AppError as exc:
        failure = verdict(exc) if isinstance(exc, PlatformError) else {"code": exc.code, "message": exc.message}
        return {"ok": False, **failure}
    cached = ephemeral.get(f"token#{adapter.integration_id}#{family}")
    return {"ok": True, "cached_until": clock.iso(cached["valid_until"]) if cached else None}


def _budget_problems(used: int, monthly: int | None, low_at: float) -> tuple[str, list[str]]:
    if monthly and used >= monthly:
        return "failing", [f"本月调用额度已用完 (monthly budget spent: {used}/{monthly})"]
    if monthly and used >= low_at * monthly:
        return "warning", [f"本月调用额度将尽 (monthly budget running low: {used}/{monthly})"]
    return "ok", []


def _checked(item: dict, adapter: Adapter, tokens: dict[str, dict], budget: tuple[str, list[str]]) -> dict:
    """Every part of the health, and the summary that weighs them."""
    record = store.get(item["id"])
    failing: list[str] = [f"令牌获取失败 (token fetch failed, {family}): {_said(t)}"
                          for family, t in tokens.items() if not t["ok"]]
    warning: list[str] = []
    (failing if budget[0] == "failing" else warning).extend(budget[1])
    delivery = record.get("delivery")
    if delivery and delivery["state"] == "failed":
        (failing if delivery.get("kind") in FAILING_KINDS else warning).append(
            f"上次投递失败 (last delivery failed, {delivery['at']}): {_said(delivery)}")
    callbacks = {"events": record.get("callback_events"), "card": record.get("callback_card")}
    registration = adapter.card_callback_registration()
    if registration and registration.startswith("not registered"):
        warning.append(f"卡片回调未注册 (card callback {registration})")
    state = "failing" if failing else "warning" if warning else "ok"
    return {"summary": {"state": state, "checked_at": clock.iso(), "problems": failing + warning},
            "token": tokens or {"ok": True, "note": NO_TOKEN},
            "callbacks": callbacks,
            "card_callback": None if registration is None else {"registration": registration,
                                                                "last_seen": callbacks["card"]},
            "last_delivery": delivery}


def _said(failure: dict) -> str:
    hint = failure.get("hint", "")
    hint = f" — {hint}" if hint and hint not in failure["message"] else ""  # a table's hint ends the message already
    return f"{failure.get('platform', '')} {failure['code']}: {failure['message']}{hint}".strip()
