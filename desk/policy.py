"""Who may call which route: every endpoint is listed here, and one that is not is refused
(deny by default). The views check the same again (`roles_required`), and item routes also
check the viewer's queues and municipalities, so a rule here is the outer wall, not the only
one. Plain data; `security.init_app` enforces it and `tests/test_authorization.py` walks it."""

from __future__ import annotations

from .models import Role

PUBLIC = "public"  # anyone, signed in or not
SOURCE_SYSTEM = "source_system"  # a bearer token of a source system (the API checks it)
#: an account with both a real role and a training role (moving between the two spaces)
SWITCHERS = "switchers"

EVERYONE = frozenset(Role)
#: the desk's own pages (trainers and trainees see them in the training space only)
READERS = frozenset({Role.PROFESSIONAL, Role.TEAM_LEAD, Role.ADMIN, Role.TRAINER, Role.TRAINEE})
WORKERS = frozenset({Role.PROFESSIONAL, Role.TEAM_LEAD, Role.ADMIN, Role.TRAINEE})
EDITORS = frozenset({Role.TEAM_LEAD, Role.ADMIN})
AUDITORS = frozenset({Role.AUDITOR})
TRAINERS = frozenset({Role.TRAINER})
#: the source systems' outbound endpoints and their secrets
ADMINS = frozenset({Role.ADMIN})
#: the real desk's live stream: it carries the real desk's changes, so a training account (whose
#: pages poll) and an auditor (who sees no queue) have no use for it
LIVE = frozenset({Role.PROFESSIONAL, Role.TEAM_LEAD, Role.ADMIN})

ACCESS: dict[str, str | frozenset[Role]] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.language": PUBLIC,
    "auth.sso_start": PUBLIC,
    "auth.callback": PUBLIC,
    "auth.backchannel_logout": PUBLIC,  # Keycloak, server to server; the signed token is checked
    "auth.logout": EVERYONE,
    "work.home": PUBLIC,  # sends each to their start page, or to sign in
    "api.openapi": PUBLIC,
    "api.deliver": SOURCE_SYSTEM,
    "api.state": SOURCE_SYSTEM,
    "api.resident_message": SOURCE_SYSTEM,
    "api.receipt": SOURCE_SYSTEM,
    "api.resident_feedback": SOURCE_SYSTEM,
    "work.index": READERS,
    "work.held": READERS,  # My work's "items I hold" alone, fetched by its page
    "work.next_item": WORKERS,
    "work.emergencies": WORKERS,  # an open page asks whether an emergency has arrived
    "situation.index": READERS,
    "search.index": READERS,
    "situation.items": READERS,
    "situation.save_view": READERS,
    "situation.delete_view": READERS,
    "live.events": LIVE,
    "items.show": READERS,
    "items.presence": READERS,
    "items.others": READERS,
    "items.summary": WORKERS,
    "items.leave": READERS,
    "items.take": WORKERS,
    "items.release": WORKERS,
    "items.transfer": WORKERS,
    "items.note": WORKERS,
    "items.wait": WORKERS,
    "items.resume": WORKERS,
    "items.resolve": WORKERS,
    "items.reveal": WORKERS,
    "items.elsewhere": WORKERS,
    "items.send_message": WORKERS,
    "items.retry_message": WORKERS,
    "items.call": WORKERS,
    "items.call_later": WORKERS,
    "items.not_reached": WORKERS,
    "items.identify": WORKERS,
    "items.conversation": READERS,
    "guidance.instructions_list": READERS,
    "guidance.instruction": READERS,
    "guidance.instruction_preview": READERS,
    "guidance.services": READERS,
    "guidance.templates": READERS,
    "guidance.instruction_new": EDITORS,
    "guidance.instruction_create": EDITORS,
    "guidance.instruction_edit": EDITORS,
    "guidance.instruction_update": EDITORS,
    "guidance.instruction_render": EDITORS,
    "guidance.service_new": EDITORS,
    "guidance.service_create": EDITORS,
    "guidance.service_edit": EDITORS,
    "guidance.service_update": EDITORS,
    "guidance.template_new": EDITORS,
    "guidance.template_create": EDITORS,
    "guidance.template_edit": EDITORS,
    "guidance.template_update": EDITORS,
    "team.set_status": WORKERS,
    "profile.edit": WORKERS,
    "profile.update": WORKERS,
    "orientation.tour_seen": READERS,  # the tours, real and training
    "team.board": EDITORS,
    "team.queue_policy": EDITORS,
    "team.person": EDITORS,
    "team.reassign": EDITORS,
    "team.queue_items": EDITORS,
    "reports.index": EDITORS,
    "reports.items_csv": EDITORS,
    "reports.phone_calls": EDITORS,
    "reports.targets": EDITORS,
    "reports.targets_csv": EDITORS,
    "reports.targets_print": EDITORS,
    "reports.care_contacts": EDITORS,
    "reports.comments": EDITORS,
    "training.index": TRAINERS,
    "training.start": TRAINERS,
    "training.run": TRAINERS,
    "training.reset": TRAINERS,
    "training.upload_pack": TRAINERS,
    "training.new_scenario": TRAINERS,
    "training.pack": TRAINERS,
    "training.edit_scenario": TRAINERS,
    "training.update_scenario": TRAINERS,
    "training.remove_scenario": TRAINERS,
    "training.create_pack": TRAINERS,
    "training.pack_json": TRAINERS,
    "training.add_scenario": TRAINERS,
    "training.results": TRAINERS,
    "training.enter": SWITCHERS,
    "training.leave": SWITCHERS,
    "audit.index": AUDITORS,
    "audit.export_csv": AUDITORS,
    "audit.export_json": AUDITORS,
    "endpoints.index": ADMINS,
    "endpoints.show": ADMINS,
    "endpoints.new": ADMINS,
    "endpoints.create": ADMINS,
    "endpoints.disable": ADMINS,
    "endpoints.enable": ADMINS,
    "endpoints.rotate": ADMINS,
}


def allows(endpoint: str, role: str) -> bool:
    """Whether a signed-in user with `role` may call `endpoint`: pages offer what the rule
    allows (the live stream, for one) and nothing it would refuse."""
    rule = ACCESS.get(endpoint)
    if rule == PUBLIC:
        return True
    return isinstance(rule, frozenset) and role in rule
