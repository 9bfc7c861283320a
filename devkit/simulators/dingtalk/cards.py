"""DingTalk interactive cards (互动卡片): callback routes, card instances, delivery and updates.

Follows open.dingtalk.com "注册卡片回调地址", "创建并投放卡片" and "更新卡片": every error is an HTTP 400
(``param.callbackRouteKeyExist`` 500) whose message repeats the code, as the docs' error tables show.
"""
from __future__ import annotations

import base64
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from devkit.simulators.dingtalk.gate import ApiError
from devkit.simulators.dingtalk.org import Directory, Org, Template, User

SPACE_PREFIX = "dtv1.card//"
SPACE_TYPES = ("IM_GROUP", "IM_ROBOT")
MAX_KEY_BYTES, MAX_VALUE_BYTES = 100, 1024


def bad(code: str, reason: str) -> ApiError:
    return ApiError(400, code, reason=reason)


def text_field(body: dict[str, Any], name: str) -> str:
    """A string field; absent gives "", any other type is DingTalk's ``param.invalid``."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad("param.invalid", f"{name} must be a string")
    return value


def options_of(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    return value if isinstance(value, dict) else {}


def check_param_map(value: Any, where: str) -> dict[str, str]:
    """cardParamMap: string values only, key ≤ 100 bytes, value ≤ 1 KB."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad("param.invalid", f"{where} must be an object")
    for key, item in value.items():
        if not isinstance(item, str):
            raise bad("param.invalid", f"{where}.{key} is {type(item).__name__}, values must be strings")
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise bad("param.invalid", f"{where} key {key[:20]}… is longer than {MAX_KEY_BYTES} bytes")
        if len(item.encode("utf-8")) > MAX_VALUE_BYTES:
            raise bad("param.invalid", f"{where}.{key} is longer than {MAX_VALUE_BYTES} bytes")
    return dict(value)


def param_map_of(container: Any, where: str) -> dict[str, str]:
    """The cardParamMap inside a cardData-like object."""
    if not isinstance(container, dict):
        raise bad("param.invalid", f"{where} must be an object")
    return check_param_map(container.get("cardParamMap"), f"{where}.cardParamMap")


def parse_open_space_id(value: Any) -> list[tuple[str, str]]:
    """``dtv1.card//IM_GROUP.<cid>;IM_ROBOT.<userId>`` → [(space type, space id)]."""
    if not value:
        raise bad("param.openSpaceIdEmpty", "openSpaceId is empty")
    if not isinstance(value, str) or not value.startswith(SPACE_PREFIX):
        raise bad("param.openSpaceIdInvalid", f"openSpaceId must start with {SPACE_PREFIX}")
    spaces = []
    for part in value[len(SPACE_PREFIX):].split(";"):
        space_type, dot, space_id = part.partition(".")
        if not dot or not space_id or space_type.upper() not in SPACE_TYPES:
            raise bad("param.openSpaceIdInvalid", f"unsupported space {part!r}")
        spaces.append((space_type.upper(), space_id))
    return spaces


def merge(old: dict[str, str], new: dict[str, str], by_key: bool) -> dict[str, str]:
    """cardUpdateOptions: by key merges, otherwise the new map replaces the old one."""
    return {**old, **new} if by_key else dict(new)


def new_carrier_id() -> str:
    return base64.b64encode(os.urandom(21)).decode()


@dataclass
class Card:
    out_track_id: str
    template_id: str
    callback_type: str | None
    route_key: str | None
    user_id_type: int
    public: dict[str, str]
    private: dict[str, dict[str, str]]  # keyed by userId whatever userIdType was used
    spaces: list[dict[str, Any]]
    created_at: float
    history: list[dict[str, Any]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {"outTrackId": self.out_track_id, "templateId": self.template_id,
                "callbackType": self.callback_type, "callbackRouteKey": self.route_key,
                "userIdType": self.user_id_type, "cardParamMap": dict(self.public),
                "privateData": {u: dict(p) for u, p in self.private.items()},
                "spaces": [dict(s) for s in self.spaces], "createdAt": self.created_at,
                "updateCount": len(self.history), "history": list(self.history)}


class CardPlatform:
    """Card state of one org. Callers hold the simulator lock."""

    def __init__(self, org: Org, directory: Directory, templates: dict[str, Template]) -> None:
        self.org, self.directory, self.templates = org, directory, templates
        self.callbacks: dict[str, dict[str, str]] = {}
        self.cards: dict[str, Card] = {}

    def register_callback(self, body: dict[str, Any]) -> dict[str, Any]:
        key, url = text_field(body, "callbackRouteKey"), text_field(body, "callbackUrl")
        if not key:
            raise bad("param.callbackRouteKeyEmpty", "callbackRouteKey is empty")
        if not url:
            raise bad("param.callbackUrlEmpty", "callbackUrl is empty")
        if key in self.callbacks and body.get("forceUpdate") is not True:
            raise ApiError(500, "param.callbackRouteKeyExist", reason=f"{key} exists and forceUpdate is not true")
        self.callbacks[key] = {"callbackUrl": url, "apiSecret": text_field(body, "apiSecret")}
        return {"success": True, "result": dict(self.callbacks[key])}

    def create_and_deliver(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        card = self.checked(body, now)
        card.spaces = [self._deliver(space_type, space_id, body, card.user_id_type)
                       for space_type, space_id in parse_open_space_id(body["openSpaceId"])]
        self.cards[card.out_track_id] = card
        delivered = [{k: v for k, v in r.items() if k != "key"} for r in card.spaces]
        out_track_id = card.out_track_id
        return {"success": True, "result": {"outTrackId": out_track_id, "deliverResults": delivered}}

    def checked(self, body: Any, now: float) -> Card:
        """A createAndDeliver body checked up to its deliveries: the card it makes, delivered nowhere yet
        (a preview stops here)."""
        out_track_id = self._check_header_fields(body)
        parse_open_space_id(body.get("openSpaceId"))
        if body.get("cardData") is None:
            raise bad("param.cardPublicDataEmpty", "cardData is required")
        public = param_map_of(body["cardData"], "cardData")
        id_type = self._user_id_type(body)
        creator = text_field(body, "userId")
        if creator and not self.directory.resolve_user(creator, id_type):
            raise bad("param.userIdNotExist", f"creator {creator} is not in the org")
        private = self._private_data(body.get("privateData"), id_type)
        callback_type = self._check_callback(body)
        return Card(out_track_id, body["cardTemplateId"], callback_type, text_field(body, "callbackRouteKey") or None,
                    id_type, public, private, [], now)

    def update(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        out_track_id = text_field(body, "outTrackId")
        if not out_track_id:
            raise bad("param.outTrackIdEmpty", "outTrackId is empty")
        card = self.cards.get(out_track_id)
        if card is None:
            raise bad("param.cardNotExist", f"no card {out_track_id}")
        if not body.get("cardData") and not body.get("privateData"):
            raise bad("param.cardDataAndPrivateDataBothEmpty", "nothing to update")
        public = param_map_of(body["cardData"], "cardData") if body.get("cardData") else None
        private = self._private_data(body.get("privateData"), self._user_id_type(body))
        self.apply(card, public, private, options_of(body, "cardUpdateOptions"), "api", now)
        return {"success": True, "result": True}

    def apply_reply(self, card: Card, user: User, reply: Any, now: float) -> str | None:
        """Apply a card-callback reply body; returns why it was ignored, or None."""
        if not isinstance(reply, dict):
            return "reply is not a JSON object; card unchanged"
        try:
            public = param_map_of(reply["cardData"], "cardData") if reply.get("cardData") else None
            mine = reply.get("userPrivateData")
            private = {user.userid: param_map_of(mine, "userPrivateData")} if mine else {}
        except ApiError as exc:
            return exc.reason
        if public is not None or private:
            self.apply(card, public, private, options_of(reply, "cardUpdateOptions"), "callback", now)
        return None

    def apply(self, card: Card, public: dict[str, str] | None, private: dict[str, dict[str, str]],
              options: dict[str, Any], source: str, now: float) -> None:
        if public is not None:
            card.public = merge(card.public, public, options.get("updateCardDataByKey") is True)
        for userid, params in private.items():
            card.private[userid] = merge(card.private.get(userid, {}), params,
                                         options.get("updatePrivateDataByKey") is True)
        card.history.append({"at": now, "source": source, "cardParamMap": public, "privateData": private})

    def by_space(self) -> dict[str, list[dict[str, Any]]]:
        """Cards as each chat shows them: ``IM_GROUP.<cid>`` / ``IM_ROBOT.<userId>`` → cards."""
        spaces: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for card in self.cards.values():
            for space in card.spaces:
                if space["success"]:
                    spaces[space["key"]].append(card.view())
        return dict(spaces)

    def _check_header_fields(self, body: Any) -> str:
        if not isinstance(body, dict) or not body:
            raise bad("param.empty", "request body is empty or not a JSON object")
        out_track_id, template_id = text_field(body, "outTrackId"), text_field(body, "cardTemplateId")
        if not out_track_id:
            raise bad("param.outTrackIdEmpty", "outTrackId is empty")
        if not template_id:
            raise bad("param.cardTemplateIdEmpty", "cardTemplateId is empty")
        template = self.templates.get(template_id)
        if template is None:
            raise bad("param.templateNotExist", f"template {template_id} does not exist")
        if not template.published:
            raise bad("param.templateUnpublished", f"template {template_id} is not published")
        if out_track_id in self.cards:
            raise bad("param.cardAlreadyExist", f"outTrackId {out_track_id} was used before")
        return out_track_id

    def _user_id_type(self, body: dict[str, Any]) -> int:
        value = body.get("userIdType", 1)
        if value not in (1, 2):
            raise bad("param.invalid", "userIdType must be 1 (userId) or 2 (unionId)")
        return value

    def _private_data(self, value: Any, id_type: int) -> dict[str, dict[str, str]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise bad("param.invalid", "privateData must be an object")
        private = {}
        for key, data in value.items():
            user = self.directory.resolve_user(key, id_type)
            if user is None:
                raise bad("param.userIdNotExist", f"privateData user {key} is not in the org")
            private[user.userid] = param_map_of(data, f"privateData.{key}")
        return private

    def _check_callback(self, body: dict[str, Any]) -> str | None:
        callback_type = text_field(body, "callbackType") or None
        if callback_type not in (None, "HTTP", "STREAM"):
            raise bad("param.invalid", "callbackType must be HTTP or STREAM")
        if callback_type == "HTTP" and text_field(body, "callbackRouteKey") not in self.callbacks:
            raise bad("param.invalid", "callbackType HTTP needs a callbackRouteKey registered "
                                       "with /v1.0/card/callbacks/register")
        return callback_type

    def _deliver(self, space_type: str, space_id: str, body: dict[str, Any], id_type: int) -> dict[str, Any]:
        """Validate one target; a refusal inside a valid request is reported per space, like DingTalk."""
        if space_type == "IM_GROUP":
            model = self._deliver_model(body, "imGroupOpenDeliverModel")
            key, error = f"IM_GROUP.{space_id}", self._group_refusal(space_id, model.get("robotCode"))
        else:
            model = self._deliver_model(body, "imRobotOpenDeliverModel")
            if model.get("spaceType") != "IM_ROBOT":
                raise bad("param.openDeliverModelError", 'imRobotOpenDeliverModel.spaceType must be "IM_ROBOT"')
            user = self.directory.resolve_user(space_id, id_type)
            if user is None:
                raise bad("param.userIdNotExist", f"IM_ROBOT user {space_id} is not in the org")
            robot_ok = model.get("robotCode") == self.org.client_id
            key, error = f"IM_ROBOT.{user.userid}", None if robot_ok else "robotCode 无效 invalid robotCode"
        return {"spaceType": space_type, "spaceId": space_id, "success": error is None,
                "carrierId": "" if error else new_carrier_id(), "errorMsg": error or "", "key": key}

    def _deliver_model(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        model = body.get(name)
        if not isinstance(model, dict) or not model:
            raise bad("param.openDeliverModelEmpty", f"{name} is required for this space")
        return model

    def _group_refusal(self, cid: str, robot_code: Any) -> str | None:
        if not robot_code:
            raise bad("param.openDeliverModelError", "imGroupOpenDeliverModel.robotCode is required")
        group = self.directory.groups.get(cid)
        if group is None:
            return "群会话不存在 conversation not found"
        if group.scene and robot_code == self.org.scene_group_robot_code:
            return None
        if robot_code == self.org.client_id:
            if group.cool_app_installed:
                return None
            return "机器人不在群内 app robot not in group (cool app not installed)"
        return "robotCode 无效 invalid robotCode for this group"
