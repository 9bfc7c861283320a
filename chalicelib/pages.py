"""Server-rendered pages of the web app (mobile-first, no build step, every value escaped)."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

from chalicelib import cards

_ASSETS = Path(__file__).parent / "assets"
_SHELL = (_ASSETS / "shell.html").read_text(encoding="utf-8")
_LOGIN_JS = (_ASSETS / "login.js").read_text(encoding="utf-8")


def shell(title: str, body: str, script: str = "", head: str = "") -> str:
    return _SHELL.replace("{title}", escape(title)).replace("{head}", head).replace(
        "{body}", body).replace("{script}", script)


def login(integration_id: str, config: dict[str, str], who: dict | None, next_path: str) -> str:
    """The page at web_home: shows who is linked, or signs the person in inside the client first."""
    head = f'<script src="{escape(config["jsapi_url"])}"></script>' if config.get("jsapi_url") and not who else ""
    settings = json.dumps({"integration": integration_id, "who": who, "next": next_path, **config},
                          ensure_ascii=False).replace("</", "<\\/")
    body = ('<h1>dutybridge</h1><p id="status">正在登录… (signing in)</p>'
            '<form id="link" hidden><label>请输入您在值班系统登记的手机号 (your registered mobile)'
            '<input name="mobile" inputmode="tel" autocomplete="tel" required></label>'
            '<button>关联账号 Link</button></form>')
    return shell("dutybridge", body, f"const DB={settings};\n{_LOGIN_JS}", head)


def incident(integration_id: str, item: dict, viewer: str) -> str:
    """The incident page every card links to: state, timeline, the card's actions."""
    card = cards.build(item, integration_id)
    rows = "".join(f"<li><time>{escape(cards.local_time(e['at']))}</time> {escape(e.get('name') or e['by'])}"
                   f" · {escape(e['action'])} <small>{escape(e['source'])}</small></li>"
                   for e in reversed(item.get("timeline", [])))
    labels = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in card.labels)
    buttons = "".join(
        f'<button name="action" value="{b.action.value}" data-minutes="{b.minutes or ""}">{escape(b.zh)} {escape(b.en)}</button>'
        for b in card.buttons + card.silence_menu)
    actions = (f'<form id="actions" method="post">{buttons}</form>' if viewer and buttons else
               "" if viewer else f'<p><a href="/app/{escape(integration_id)}?next=/app/{escape(integration_id)}/incidents/{escape(item["id"])}">'
               '登录后可操作 (sign in to act)</a></p>')
    body = (f'<h1 class="sev-{escape(card.severity)}">{escape(card.severity_zh)} · {escape(card.title)}</h1>'
            f'<p class="status">{escape(card.status_zh)} {escape(card.status_en)}'
            f'{" · 屏蔽至 " + escape(card.silenced_until) if card.silenced_until else ""}</p>'
            f'<p>{escape(card.description)}</p><ul>{labels}</ul><p>开始 Started: {escape(card.started_at)}</p>'
            f'{actions}<p id="status"></p><h2>时间线 Timeline</h2><ol class="timeline">{rows}</ol>')
    script = ("document.querySelectorAll('#actions button').forEach(b=>b.onclick=async e=>{e.preventDefault();"
              "const r=await fetch(location.pathname+'/actions',{method:'POST',headers:{'Content-Type':'application/json'},"
              "body:JSON.stringify({action:b.value,minutes:b.dataset.minutes?+b.dataset.minutes:null})});"
              "const j=await r.json();if(r.ok)location.reload();else document.getElementById('status').textContent=j.message;});")
    return shell(item["title"], body, script)
