"""The admin API (README, "Admin API"): integrations, members, linking, incidents, war rooms.

Bearer auth on every route."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.common import lazy
from chalicelib.routes.common import admin, parse

incidents = lazy.module("chalicelib.core.incidents")
models = lazy.module("chalicelib.core.models")
quota = lazy.module("chalicelib.delivery.quota")
actions = lazy.module("chalicelib.flows.actions")
admin_views = lazy.module("chalicelib.flows.admin_views")
consumers = lazy.module("chalicelib.flows.consumers")
health = lazy.module("chalicelib.flows.health")
integrations = lazy.module("chalicelib.flows.integrations")
linking = lazy.module("chalicelib.flows.linking")
members = lazy.module("chalicelib.flows.members")
previews = lazy.module("chalicelib.flows.previews")
providers = lazy.module("chalicelib.flows.providers")
trial_card = lazy.module("chalicelib.flows.trial_card")
chats = lazy.module("chalicelib.store.chats")
bp = Blueprint(__name__)


@admin(bp, "/integrations", ("POST",))
def create_integration():
    return Response(integrations.create(parse(bp, integrations.IntegrationIn)), status_code=201)


@admin(bp, "/integrations")
def list_integrations():
    return integrations.all_views()


@admin(bp, "/integrations/{integration_id}")
def get_integration(integration_id: str):
    return integrations.view(integrations.get(integration_id))


@admin(bp, "/integrations/{integration_id}", ("PATCH",))
def patch_integration(integration_id: str):
    return integrations.update(integration_id, parse(bp, models.IntegrationPatch))


@admin(bp, "/integrations/{integration_id}", ("DELETE",))
def delete_integration(integration_id: str):
    integrations.delete(integration_id)
    return Response(body="", status_code=204)


@admin(bp, "/integrations/{integration_id}/chats")
def list_chats(integration_id: str):
    integrations.get(integration_id)
    return [admin_views.chat(c) for c in chats.of(integration_id) if c.get("active")]


@admin(bp, "/integrations/{integration_id}/quota")
def get_quota(integration_id: str):
    return quota.usage(integrations.get(integration_id))


@admin(bp, "/integrations/{integration_id}/health")
def get_health(integration_id: str):
    return health.report(integration_id)


@admin(bp, "/integrations/{integration_id}/link-members", ("POST",))
def link_members(integration_id: str):
    return linking.link_members(integration_id)


@admin(bp, "/integrations/{integration_id}/preview", ("POST",))
def preview(integration_id: str):
    return previews.preview(integration_id, parse(bp, previews.PreviewRequest))


@admin(bp, "/integrations/{integration_id}/test", ("POST",))
def test_card(integration_id: str):
    return trial_card.send(integration_id, parse(bp, trial_card.TrialRequest))


@admin(bp, "/incidents/{incident_id}/redeliver", ("POST",))
def redeliver(incident_id: str):
    return Response({"queued": actions.redeliver(incident_id)}, status_code=202)


@admin(bp, "/providers/{name}", ("PUT",))
def put_provider(name: str):
    provider = providers.named(name)
    return provider.save(parse(bp, provider.Config))


@admin(bp, "/providers/{name}")
def get_provider(name: str):
    return providers.named(name).view()


@admin(bp, "/members", ("POST",))
def create_member():
    return Response(members.create(parse(bp, models.MemberIn)), status_code=201)


@admin(bp, "/members")
def list_members():
    query = bp.current_request.query_params or {}
    return members.page(query.get("limit", str(members.DEFAULT_PAGE)), query.get("after"))


@admin(bp, "/members/{member_id}", ("PATCH",))
def change_member(member_id: str):
    return members.change(member_id, parse(bp, models.MemberPatch))


@admin(bp, "/members/{member_id}", ("DELETE",))
def delete_member(member_id: str):
    members.delete(member_id)
    return Response(body="", status_code=204)


@admin(bp, "/members/{member_id}/bindings/{integration_id}", ("DELETE",))
def unlink_member(member_id: str, integration_id: str):
    members.unlink(member_id, integration_id)
    return Response(body="", status_code=204)


@admin(bp, "/members/{member_id}")
def get_member(member_id: str):
    return members.view(member_id)


@admin(bp, "/incidents", ("POST",))
def post_incident():
    incident = consumers.accept(parse(bp, models.Notification))
    return Response({"id": incident["id"], "status": incident["status"]}, status_code=202)


@admin(bp, "/incidents/{incident_id}")
def get_incident(incident_id: str):
    return admin_views.incident(incidents.get(incident_id))


@admin(bp, "/incidents/{incident_id}/actions", ("POST",))
def post_action(incident_id: str):
    request = parse(bp, models.ActionRequest)
    return admin_views.incident(actions.take_as(incident_id, request.action, request.by, "api", request.minutes))


@admin(bp, "/incidents/{incident_id}/war-room", ("POST",))
def post_war_room(incident_id: str):
    request = parse(bp, models.WarRoomRequest)
    room, created = actions.open_war_room(incident_id, request.integration_id, request.by)
    return Response(room, status_code=201 if created else 200)
