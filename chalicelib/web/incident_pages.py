"""The web app's pages: who may see each one, and what it shows.

Every page needs a platform sign-in (a session); acting needs the person linked to a member.
Someone not signed in is sent through the platform's sign-in (an OAuth redirect, or the DingTalk
JSAPI on the linking page) and comes back to the page they wanted.

An integration's web app belongs to one organisation: it shows, lists and acts only on incidents
whose cards went out through that integration. Any other incident is answered exactly like one
that does not exist, so the page tells nothing about other organisations' incidents.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from urllib.parse import quote

from chalicelib.common import clock
from chalicelib.common.errors import AppError, Conflict, NotFound
from chalicelib.core import cards, incidents, wording
from chalicelib.core.callback import PlatformUser
from chalicelib.core.models import Action, Status, is_report
from chalicelib.flows import actions, integrations, linking, pending
from chalicelib.platforms import adapter_for
from chalicelib.sources.silences import SilenceFailed
from chalicelib.store import chats, deliveries, involvements, people
from chalicelib.store import incidents as incident_store
from chalicelib.store import integrations as integration_store
from chalicelib.web import i18n, pages, signin

MAX_LISTED = 50  # "my incidents" shows the incidents the member was most recently involved in
MAX_CHECKED = 200  # ... among that many of their latest involvements (each costs a read)
# dispatch records a member it could not reach on an integration (not linked there, or unknown) under
# this placeholder target: such a record is no card sent through the integration.
_NOBODY = "member:"
# Where an alert links to, by the name the page shows it under (i18n.LINKS) and the field the incident keeps.
ALERT_LINKS = {"generator": "url", "dashboard": "dashboard_url", "panel": "panel_url", "silence": "silence_url",
               "image": "image_url"}


@dataclass
class Screen:
    """A page to show (with the Content-Security-Policy it needs), or where to send the browser instead;
    either with a cookie to set."""

    html: str = ""
    policy: str = ""
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
    adapter = adapter_for(integrations.get(integration_id))
    back = signin.safe_next(integration_id, wanted) if wanted else _with_pending(integration_id, pending_id)
    platform = words.platform(adapter.name)
    config = {"home": signin.home_path(integration_id), "text": words.script_texts(adapter.name)}
    if user is None:
        redirect = signin.begin(integration_id, adapter, back)
        if redirect:
            return Screen(redirect=redirect.url, cookie=redirect.cookie)
        config.update(adapter.h5_page_config(), signin=True, back=back)
        return _page("home.html", words, integration_id, user=None, platform=platform, notice=None, config=config,
                     scripts=(config.get("jsapi_url", ""),))
    member = linking.member_of(integration_id, user.user_id)
    notice = _resume(integration_id, adapter.name, user, member, pending_id, words) if pending_id else None
    if member and wanted and notice is None:
        return Screen(redirect=back)
    return _page("home.html", words, integration_id, user=user, member=member, platform=platform, notice=notice,
                 config=config)


def _with_pending(integration_id: str, pending_id: str | None) -> str:
    return signin.home_path(integration_id) + (f"?pending={pending_id}" if pending_id else "")


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
        _require_delivered(integration_id, click.incident_id)
        incident = actions.take_as(click.incident_id, click.action, member["id"], platform, click.minutes)
    except (Conflict, NotFound, SilenceFailed) as exc:
        return Notice("warn", words.pending_refused.format(reason=exc.message))
    return Notice("ok", words.pending_done.format(action=what, title=incident["title"]),
                  link=_incident_path(integration_id, incident["id"]))


def incident(integration_id: str, incident_id: str, user: PlatformUser | None, words: i18n.Words,
             view: str | None = None) -> Screen:
    """The page every card links to: state, the card's actions, war room, timeline, deliveries. A robot
    message's link (``view``, signed for that incident) shows it read-only without signing in."""
    integration = integrations.get(integration_id)
    platform = integration["platform"]
    path = _incident_path(integration_id, incident_id)
    adapter = adapter_for(integration)
    reader = user is None and view is not None and adapter.reader_allowed(incident_id, view)
    if user is None and not reader:
        return Screen(redirect=_sign_in_first(integration_id, path))
    records = _require_delivered(integration_id, incident_id)
    item = incidents.get(incident_id)
    room = (item.get("war_rooms") or {}).get(integration_id)
    card = adapter.offered(cards.build(item, integration_id, integration["settings"]))
    labels = card.facts if is_report(item) else cards.ordered_labels(item.get("labels", {}),
                                                                     adapter.settings.label_order)[0]
    return _page("incident.html", words, integration_id, card=card, reader=reader, labels=labels,
                 description=item.get("description", ""),
                 member=linking.member_of(integration_id, user.user_id) if user else None,
                 platform=words.platform(platform),
                 source_url=pages.web_url(item.get("url")), war_room=_war_room(room) if room else None,
                 alerts=_alerts(item), links=_links(item.get("links", {})), silence=item.get("silence") or {},
                 previous=_incident_path(integration_id, item["previous_incident_id"])
                 if item.get("previous_incident_id") else "",
                 timeline=list(reversed(item.get("timeline", []))), deliveries=_deliveries(records, platform),
                 link_url=_sign_in_first(integration_id, path),
                 config={"home": signin.home_path(integration_id), "actions": f"{path}/actions",
                         "war_room": f"{path}/war-room",
                         "text": words.script_texts(platform)})


def act(integration_id: str, incident_id: str, user: PlatformUser | None, action: Action,
        minutes: int | None) -> dict:
    """An incident page's button, pressed by a linked member; the incident as it is now."""
    member = signin.linked_member(integration_id, user)
    _require_delivered(integration_id, incident_id)
    return actions.take(incident_id, action, member, integrations.get(integration_id)["platform"], minutes,
                        integration_id)


def open_war_room(integration_id: str, incident_id: str, user: PlatformUser | None) -> dict:
    """The incident page's 作战室 button, pressed by a linked member: the room, opened or found."""
    member = signin.linked_member(integration_id, user)
    _require_delivered(integration_id, incident_id)
    return actions.open_war_room_as(incident_id, integration_id, member, integrations.get(integration_id)["platform"])


def _require_delivered(integration_id: str, incident_id: str) -> list[dict]:
    """The incident's cards that went out (or are going out) through this integration; 404, worded as
    for an unknown incident, when there are none."""
    records = _cards_here(integration_id, incident_id)
    if not records:
        raise NotFound(f"incident {incident_id} does not exist")
    return records


def _cards_here(integration_id: str, incident_id: str) -> list[dict]:
    return [d for d in deliveries.of(incident_id)
            if d["integration_id"] == integration_id and not d["target"].startswith(_NOBODY)]


def _incident_path(integration_id: str, incident_id: str) -> str:
    return f"{signin.home_path(integration_id)}/incidents/{quote(incident_id, safe='')}"


def _sign_in_first(integration_id: str, path: str) -> str:
    return f"{signin.home_path(integration_id)}?next={quote(path, safe='')}"


def _alerts(incident: dict) -> list[dict]:
    """Every alert the incident keeps of its group, with its times in the incident's timezone and its links."""
    tz = wording.zone(incident.get("timezone"))
    return [{"status": wording.ALERT_STATUS_TEXT[a["status"]], "summary": a.get("summary", ""),
             "labels": sorted(a.get("labels", {}).items()), "measured": a.get("values", {}),
             "starts_at": wording.local_time(a.get("starts_at"), tz),
             "ends_at": wording.local_time(a.get("ends_at"), tz),
             "links": _links({name: a.get(field, "") for name, field in ALERT_LINKS.items()})}
            for a in incident.get("alerts", [])]


def _links(links: dict[str, str]) -> list[tuple[str, str]]:
    """(name, url) of the http(s) links among ``links``, in a steady order."""
    return [(name, pages.web_url(url)) for name, url in sorted(links.items()) if pages.web_url(url)]


def _war_room(room: dict) -> dict:
    """The war room another part of the app recorded on the incident, ready to show."""
    return {"title": room.get("title") or room.get("chat_id", ""), "url": pages.web_url(room.get("url"))}


def _deliveries(records: list[dict], platform: str) -> list[dict]:
    """Where the incident's cards went through this integration, named as people know them (member names,
    group titles). Other integrations' deliveries, and the people not reached here, are for their own
    organisations' pages and the admin API."""
    return [{"who": _recipient(d), "kind": d["kind"], "platform": platform, "state": d["state"],
             "error": "" if d["state"] in ("sent", "unbound") else d.get("error") or ""} for d in records]


def _recipient(delivery: dict) -> str:
    if delivery["kind"] == "chat":
        chat = chats.get(delivery["integration_id"], delivery["target"]) or {}
        return chat.get("title") or delivery["target"]
    member = people.get_member(delivery["member_id"]) if delivery.get("member_id") else None
    return member["name"] if member else delivery["target"]


def mine(integration_id: str, user: PlatformUser | None, words: i18n.Words) -> Screen:
    """"My incidents": those the signed-in member was notified of or acted on, delivered through this integration."""
    integrations.get(integration_id)
    member = linking.member_of(integration_id, user.user_id) if user else None
    if member is None:
        return Screen(redirect=_sign_in_first(integration_id, f"{signin.home_path(integration_id)}/incidents"))
    return _page("incidents.html", words, integration_id, rows=my_incidents(member["id"], integration_id))


def my_incidents(member_id: str, integration_id: str) -> list[dict]:
    """Open incidents first, newest first within each group; ``[{"card", "roles"}]``."""
    recent = sorted(involvements.of(member_id), key=lambda i: i["since"], reverse=True)[:MAX_CHECKED]
    here = islice((i for i in recent if _cards_here(integration_id, i["incident_id"])), MAX_LISTED)
    roles = {i["incident_id"]: [r for r in ("targeted", "acted") if r in i["roles"]] for i in here}
    found = sorted(incident_store.many(list(roles)), key=lambda i: clock.parse_iso(i["started_at"]), reverse=True)
    found.sort(key=lambda i: i["status"] == Status.resolved.value)
    shown_as = (integration_store.get(integration_id) or {}).get("settings", {})  # read once for every card
    return [{"card": cards.build(i, integration_id, shown_as), "roles": roles[i["id"]]} for i in found]


def error(exc: AppError, words: i18n.Words, integration_id: str | None = None) -> Screen:
    """An error as a page: what went wrong in the reader's language, and the way back."""
    title = getattr(words, f"error_{exc.status}", words.error_other)
    home = signin.home_path(integration_id) if integration_id and integration_store.get(integration_id) else ""
    page = pages.render("error.html", words, home=home, title=title, message=exc.message)
    return Screen(html=page.html, policy=page.policy, status=exc.status)


def _page(template: str, words: i18n.Words, integration_id: str, **context) -> Screen:
    page = pages.render(template, words, home=signin.home_path(integration_id), **context)
    return Screen(html=page.html, policy=page.policy)
