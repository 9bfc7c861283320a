"""The web app's pages: who may see each one, and what it shows.

Every page needs a platform sign-in (a session); acting needs the person linked to a member.
Someone not signed in is sent through the platform's sign-in (an OAuth redirect, or the DingTalk
JSAPI on the linking page) and comes back to the page they wanted.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from chalicelib import actions, cards, clock, i18n, incidents, integrations, linking, pages, pending, weblogin
from chalicelib.errors import AppError, Conflict, NotFound
from chalicelib.models import Status
from chalicelib.platforms.base import PlatformUser
from chalicelib.store import chats, deliveries, involvements, people
from chalicelib.store import incidents as incident_store
from chalicelib.store import integrations as integration_store

MAX_LISTED = 50  # "my incidents" shows the incidents the member was most recently involved in


@dataclass
class Screen:
    """A page to show, or where to send the browser instead (with a session cookie to set)."""

    html: str = ""
    status: int = 200
    redirect: str = ""
    cookie: str = ""


@dataclass
class Notice:
    kind: str  # ok | info | warn | error
    text: str
    link: str = ""


def home(integration_id: str, user: PlatformUser | None, words: i18n.Words, wanted: str | None = None,
         pending_id: str | None = None) -> Screen:
    """The linking page (web_home): sign in, see who you are linked as, and get a kept click applied."""
    adapter = integrations.adapter(integrations.get(integration_id))
    back = weblogin.safe_next(integration_id, wanted) if wanted else _with_pending(integration_id, pending_id)
    platform = words.platform(adapter.name)
    config = {"home": weblogin.home_path(integration_id), "text": words.script_texts(adapter.name)}
    if user is None:
        redirect = weblogin.begin(integration_id, adapter, back)
        if redirect:
            return Screen(redirect=redirect)
        config.update(adapter.h5_page_config(), signin=True, back=back)
        return _page("home.html", words, integration_id, user=None, platform=platform, notice=None, config=config)
    member = linking.member_of(integration_id, user.user_id)
    notice = _resume(integration_id, adapter.name, user, member, pending_id, words) if pending_id else None
    if member and wanted and notice is None:
        return Screen(redirect=back)
    return _page("home.html", words, integration_id, user=user, member=member, platform=platform, notice=notice,
                 config=config)


def _with_pending(integration_id: str, pending_id: str | None) -> str:
    return weblogin.home_path(integration_id) + (f"?pending={pending_id}" if pending_id else "")


def _resume(integration_id: str, platform: str, user: PlatformUser, member: dict | None, pending_id: str,
            words: i18n.Words) -> Notice:
    """Apply the card click kept under ``pending_id``: only for the user who clicked, once linked."""
    click = pending.find(integration_id, pending_id)
    if click is None:
        return Notice("warn", words.pending_expired)
    if click.user_id != user.user_id:
        return Notice("error", words.pending_other_user)
    what = words.click(click.action.value, click.minutes)
    if member is None:
        return Notice("info", words.pending_waiting.format(action=what))
    if not pending.use(click):
        return Notice("warn", words.pending_expired)
    try:
        incident = actions.take_as(click.incident_id, click.action, member["id"], platform, click.minutes)
    except (Conflict, NotFound) as exc:
        return Notice("warn", words.pending_refused.format(reason=exc.message))
    return Notice("ok", words.pending_done.format(action=what, title=incident["title"]),
                  link=_incident_path(integration_id, incident["id"]))


def incident(integration_id: str, incident_id: str, user: PlatformUser | None, words: i18n.Words) -> Screen:
    """The page every card links to: state, the card's actions, war room, timeline, deliveries."""
    integration = integrations.get(integration_id)
    platform = integration["platform"]
    path = _incident_path(integration_id, incident_id)
    if user is None:
        return Screen(redirect=_sign_in_first(integration_id, path))
    item = incidents.get(incident_id)
    room = (item.get("war_rooms") or {}).get(integration_id)
    card = integrations.adapter(integration).offered(cards.build(item, integration_id))
    return _page("incident.html", words, integration_id, card=card,
                 member=linking.member_of(integration_id, user.user_id), platform=words.platform(platform),
                 source_url=pages.web_url(item.get("url")), war_room=_war_room(room) if room else None,
                 timeline=list(reversed(item.get("timeline", []))), deliveries=_deliveries(incident_id),
                 link_url=_sign_in_first(integration_id, path),
                 config={"home": weblogin.home_path(integration_id), "actions": f"{path}/actions",
                         "war_room": f"{path}/war-room",
                         "text": words.script_texts(platform)})


def _incident_path(integration_id: str, incident_id: str) -> str:
    return f"{weblogin.home_path(integration_id)}/incidents/{quote(incident_id, safe='')}"


def _sign_in_first(integration_id: str, path: str) -> str:
    return f"{weblogin.home_path(integration_id)}?next={quote(path, safe='')}"


def _war_room(room: dict) -> dict:
    """The war room another part of the app recorded on the incident, ready to show."""
    return {"title": room.get("title") or room.get("chat_id", ""), "url": pages.web_url(room.get("url"))}


def _deliveries(incident_id: str) -> list[dict]:
    """Where the incident's cards went, named as people know them (member names, group titles)."""
    found = deliveries.of(incident_id)
    platforms = {i: (integration_store.get(i) or {}).get("platform", "") for i in {d["integration_id"] for d in found}}
    return [{"who": _recipient(d), "kind": d["kind"], "platform": platforms[d["integration_id"]], "state": d["state"],
             "error": "" if d["state"] in ("sent", "unbound") else d.get("error") or ""} for d in found]


def _recipient(delivery: dict) -> str:
    if delivery["kind"] == "chat":
        chat = chats.get(delivery["integration_id"], delivery["target"]) or {}
        return chat.get("title") or delivery["target"]
    member = people.get_member(delivery["member_id"]) if delivery.get("member_id") else None
    return member["name"] if member else delivery["target"]


def mine(integration_id: str, user: PlatformUser | None, words: i18n.Words) -> Screen:
    """"My incidents": those the signed-in member was notified of or acted on."""
    integrations.get(integration_id)
    member = linking.member_of(integration_id, user.user_id) if user else None
    if member is None:
        return Screen(redirect=_sign_in_first(integration_id, f"{weblogin.home_path(integration_id)}/incidents"))
    return _page("incidents.html", words, integration_id, rows=my_incidents(member["id"], integration_id))


def my_incidents(member_id: str, integration_id: str) -> list[dict]:
    """Open incidents first, newest first within each group; ``[{"card", "roles"}]``."""
    involved = sorted(involvements.of(member_id), key=lambda i: i["since"], reverse=True)[:MAX_LISTED]
    roles = {i["incident_id"]: [r for r in ("targeted", "acted") if r in i["roles"]] for i in involved}
    found = sorted(incident_store.many(list(roles)), key=lambda i: clock.parse_iso(i["started_at"]), reverse=True)
    found.sort(key=lambda i: i["status"] == Status.resolved.value)
    return [{"card": cards.build(i, integration_id), "roles": roles[i["id"]]} for i in found]


def error(exc: AppError, words: i18n.Words, integration_id: str | None = None) -> Screen:
    """An error as a page: what went wrong in the reader's language, and the way back."""
    title = getattr(words, f"error_{exc.status}", words.error_other)
    home = weblogin.home_path(integration_id) if integration_id and integration_store.get(integration_id) else ""
    return Screen(html=pages.render("error.html", words, home=home, title=title, message=exc.message),
                  status=exc.status)


def _page(template: str, words: i18n.Words, integration_id: str, **context) -> Screen:
    return Screen(html=pages.render(template, words, home=weblogin.home_path(integration_id), **context))
