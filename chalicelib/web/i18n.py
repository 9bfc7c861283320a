"""Every word the web app shows, Chinese first (the default) with English beside it.

Each entry is a (zh, en) pair so a translation can never go missing; ``Words`` picks one side
for a request, from its ``Accept-Language``. Card texts live with the cards (``wording``), whose
labels the pages reuse through ``Words.pick``.
"""
from __future__ import annotations

from chalicelib.platforms import adapter_class, names

LANGUAGES = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    "html_lang": ("zh-CN", "en"),
    "app": ("dutybridge 值班", "dutybridge on-call"),
    "home": ("首页", "Home"),
    "my_incidents": ("我的故障", "My incidents"),
    # the linking page
    "signing_in": ("正在通过{platform}登录…", "Signing you in through {platform}…"),
    "open_in_client": ("请在{platform}客户端内打开此页面（工作台 → 搜索应用名称 → 打开应用）。",
                       "Open this page inside the {platform} client (工作台 → search the app → open it)."),
    "cookies_blocked": ("无法保存登录状态，请允许此页面使用 Cookie 后重试。",
                        "The sign-in could not be kept: allow cookies for this page and try again."),
    "signin_failed": ("登录失败", "Sign-in failed"),
    "signin_again": ("请从{platform}工作台重新打开应用再试一次。",
                     "Open the app again from the {platform} workbench (工作台) and try again."),
    "linked_as": ("已关联 {member}", "Linked as {member}"),
    "account": ("{platform}账号：{user}", "{platform} account: {user}"),
    "linked_next": ("之后打开应用将自动登录，卡片上的按钮会以您的身份操作。",
                    "From now on the app signs you in by itself, and card buttons act as you."),
    "not_you": ("不是您？请在客户端右上角菜单切换账号后重新打开应用。",
                "Not you? Switch accounts from the client's menu, then open the app again."),
    "not_linked": ("未关联应用", "Account not linked"),
    "not_linked_why": ("没有找到与您的{platform}账号（{user}）对应的值班成员。",
                       "No on-call member matches your {platform} account ({user})."),
    "not_linked_todo": ("请输入您在值班系统登记的手机号完成关联，{platform}会核对这个号码是否属于您。"
                        "如果没有登记手机号，请联系管理员把您添加为成员。",
                        "Enter the mobile number registered for you in the on-call system; {platform} "
                        "checks that it is yours. If none is registered, ask an admin to add you as a member."),
    "mobile": ("登记的手机号", "Registered mobile"),
    "link": ("关联账号", "Link account"),
    "failed": ("操作失败，请重试。", "That did not work, please try again."),
    # a card click made before linking (pending)
    "pending_waiting": ("完成关联后，将自动执行您在卡片上的操作：{action}。",
                        "Once you are linked, your card click is applied: {action}."),
    "pending_done": ("已执行您在卡片上的操作：{action} · {title}", "Your card click was applied: {action} · {title}"),
    "pending_refused": ("卡片上的操作未执行：{reason}", "Your card click was not applied: {reason}"),
    "pending_other_user": ("这个链接来自另一个账号在卡片上的点击，未执行任何操作。请用点击卡片的账号打开。",
                           "This link belongs to another account's card click; nothing was applied. "
                           "Open it as the person who clicked."),
    "pending_expired": ("卡片操作已过期或已执行，请回到卡片重新点击按钮。",
                        "That card click has expired or was already applied; press the card's button again."),
    "minutes": ("{n} 分钟", "{n} min"),
    "view_incident": ("查看故障", "View the incident"),
    # the incident page
    "silenced_until": ("屏蔽至 {time}", "Silenced until {time}"),
    "started": ("开始时间", "Started"),
    "labels": ("标签", "Labels"),
    "source": ("告警来源页面", "Source page"),
    "alerts": ("告警", "Alerts"),
    "alert_ended": ("结束", "ended"),
    "links": ("链接", "Links"),
    "silence_id": ("屏蔽 ID（{backend}）：{id}", "Silence ID ({backend}): {id}"),
    "previous_incident": ("上一次故障", "Previous incident"),
    "actions": ("操作", "Actions"),
    "more_silence": ("更长时间屏蔽", "Silence for longer"),
    "closed_no_actions": ("故障已关闭，无需操作。", "The incident is closed; nothing left to do."),
    "report_no_actions": ("报告仅供查看，无需操作。", "A report is for reading; there is nothing to act on."),
    "read_only": ("群机器人的链接只能查看；认领、关闭、屏蔽请在应用中操作。",
                  "A group robot's link shows the incident read-only: acknowledge, close or silence it from the app."),
    "link_to_act": ("关联账号后即可在这里操作", "Link your account to act here"),
    "war_room": ("作战室", "War room"),
    "open_war_room": ("打开作战室", "Open war room"),
    "start_war_room": ("开启作战室", "Start a war room"),
    "war_room_hint": ("为本故障建群，拉入被通知和处理过的人，并把故障卡片发到群里。",
                      "Creates a group for this incident with everyone notified or acting, and posts its card there."),
    "find_war_room": ("在{platform}的群聊列表中查找「{title}」。", "Find “{title}” among your {platform} chats."),
    "timeline": ("时间线", "Timeline"),
    "deliveries": ("通知投递", "Deliveries"),
    "no_deliveries": ("暂无投递记录。", "Nothing delivered yet."),
    "group_chat": ("群聊", "group chat"),
    # my incidents
    "mine_intro": ("通知过您或您处理过的故障，未关闭的在前。",
                   "Incidents you were notified of or acted on, open ones first."),
    "mine_empty": ("暂时没有与您相关的故障。", "No incidents for you yet."),
    # error pages
    "error_400": ("请求有误", "Bad request"),
    "error_401": ("需要登录", "Sign-in needed"),
    "error_404": ("找不到页面", "Not found"),
    "error_409": ("操作冲突", "Conflict"),
    "error_other": ("出错了", "Something went wrong"),
    "error_todo": ("请从工作台重新打开应用，或回到卡片重新点击。",
                   "Open the app again from the workbench (工作台), or go back to the card."),
    "back_home": ("返回应用首页", "Back to the app's home"),
}

# Timeline entries' sources besides the platforms (whose adapters name them).
SOURCES = {"api": ("接口", "API"), "alertmanager": ("Alertmanager", "Alertmanager"),
           "grafana": ("Grafana", "Grafana"), "webhook": ("Webhook", "Webhook")}
DELIVERY_STATES = {"pending": ("待发送", "pending"), "sent": ("已送达", "sent"), "deferred": ("延后发送", "deferred"),
                   "failed": ("失败", "failed"), "unbound": ("未关联应用", "not linked"),
                   "parked": ("暂停（本月调用量用完）", "parked (monthly budget spent)"),
                   "digested": ("已合并到摘要", "folded into a digest")}
TIMELINE = {"ack": ("认领", "acknowledged"), "resolve": ("关闭", "closed"), "silence": ("屏蔽", "silenced"),
            "triggered": ("触发", "triggered"), "acknowledged": ("处理中", "acknowledged"),
            "resolved": ("已关闭", "resolved"), "updated": ("更新", "updated"),
            "reported": ("收到报告", "report received"),
            "suppressed": ("屏蔽中，未通知", "not notified while silenced"),
            "undeliverable": ("无法投递", "undeliverable"), "war_room": ("开启作战室", "opened a war room"),
            "war_room_joined": ("加入作战室", "joined the war room"),
            "war_room_failed": ("作战室未能开启", "war room could not be opened"),
            "unsilence": ("取消屏蔽", "unsilenced"), "alerts": ("告警变化", "alerts changed"),
            "refired": ("再次触发，新故障", "fired again as a new incident")}
# What an alert group's links lead to (core.alerts.links, and each alert's own).
LINKS = {"generator": ("告警规则", "Alert rule"), "external": ("告警管理器", "Alert manager"),
         "dashboard": ("仪表盘", "Dashboard"), "panel": ("面板", "Panel"), "silence": ("静默页面", "Silence page"),
         "image": ("面板截图", "Panel image")}
ROLES = {"targeted": ("通知了您", "notified you"), "acted": ("您处理过", "you acted")}
ACTORS = {"producer": ("告警源", "alert source"), "system": ("系统", "system")}


def choose(accept_language: str | None) -> str:
    """The language the browser prefers most among ours; Chinese when it names neither.

    ``en-US;q=0.9, zh;q=0.8`` is English, ``zh-CN,en;q=0.5`` and ``fr`` are Chinese; a tie keeps
    the browser's order.
    """
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES:
            ranked.append((-_quality(params), position, primary))
    ranked = [entry for entry in ranked if entry[0] < 0]
    return min(ranked)[2] if ranked else LANGUAGES[0]


def _quality(params: str) -> float:
    name, _, value = params.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        return min(max(float(value), 0.0), 1.0)
    except ValueError:
        return 0.0


class Words:
    """One language's side of every pair: ``words.linked_as``, ``words.pick(wording.STATUS_TEXT[s])``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._side = LANGUAGES.index(lang)

    def __getattr__(self, key: str) -> str:
        try:
            return TEXT[key][self._side]
        except KeyError:
            raise AttributeError(key) from None

    def pick(self, pair: tuple[str, str]) -> str:
        return pair[self._side]

    def name(self, table: dict[str, tuple[str, str]], key: str) -> str:
        """A label from one of the tables above; unknown keys show as they are."""
        return self.pick(table[key]) if key in table else key

    def platform(self, platform: str) -> str:
        """A platform's label as its adapter declares it, or another source of timeline entries."""
        return self.pick(adapter_class(platform).label) if platform in names() else self.name(SOURCES, platform)

    def script_texts(self, platform: str) -> dict[str, str]:
        """The few words the page script needs, handed to it in the page's config."""
        texts = {key: getattr(self, key) for key in ("signin_failed", "cookies_blocked", "failed")}
        return {**texts, "open_in_client": self.open_in_client.format(platform=self.platform(platform))}

    def click(self, action: str, minutes: int | None) -> str:
        """What a card click does, e.g. ``屏蔽 120 分钟`` / ``silenced 120 min``."""
        return self.name(TIMELINE, action) + (" " + self.minutes.format(n=minutes) if minutes else "")
