"""WeCom's 通讯录变更 (contact change) callbacks: the member who was deleted from the organisation.

A self-built app's callback URL receives ``Event=change_contact`` (FromUserName ``sys``), a third-party
suite's 指令回调 URL ``InfoType=change_contact`` (with ``AuthCorpId``); in both ``ChangeType=delete_user``
names the member who left in ``UserID`` (developer.work.weixin.qq.com 通讯录回调通知 → 成员变更通知,
document path/90970 删除成员事件; for suites the 第三方应用 通讯录回调通知 samples with SuiteId, AuthCorpId,
InfoType, TimeStamp, ChangeType, UserID, as EasyWeChat's open-work server docs also handle them).
"""
from __future__ import annotations

from xml.etree.ElementTree import Element

from chalicelib.common.errors import CallbackRejected
from chalicelib.core.callback import Departure
from chalicelib.platforms.wecom.xml import text

CHANGE = "change_contact"
DELETED = "delete_user"
EVENT = f"{CHANGE}/{DELETED}"  # how the member view names the event that revoked a binding
USER_ID_BYTES = 64  # a member's UserID is 1 to 64 bytes


def departures(message: Element, kind_field: str = "Event") -> list[Departure]:
    """The member a ``delete_user`` contact change removed; none for any other message."""
    if text(message, kind_field) != CHANGE or text(message, "ChangeType") != DELETED:
        return []
    user_id = text(message, "UserID")
    if not 0 < len(user_id.encode()) <= USER_ID_BYTES:
        raise CallbackRejected("delete_user without a valid UserID")
    return [Departure(user_id, EVENT)]
