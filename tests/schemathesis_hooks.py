"""Schemathesis hooks for tests/test_openapi.py (loaded by SCHEMATHESIS_HOOKS).

`positive_data_accepted_but_for_documented_rules` is schemathesis' positive_data_acceptance
with the one allowance the contract makes: a delivery the schema allows may still be refused
(422) for a rule no JSON Schema can state, and then only for a rule the document itself
describes (the problem's message stands in the document's text). `every_channel_accepts` makes
sure that this is not vacuous: every channel accepted (202) some generated delivery, and the
resident's messages, receipts and satisfaction answers (about deliveries the test made) were
accepted too.

Generated timestamps are spread over ten thousand years, and only the last few are accepted;
before a positive case is sent its timestamps are set to a minute ago (any date-time is as valid
to the schema), so the generated deliveries reach the rest of the rules.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import schemathesis


def _positive_delivery(case) -> bool:
    meta = case.meta
    return (
        case.method.upper() == "POST"
        and meta is not None
        and meta.generation.mode.is_positive
        and isinstance(case.body, dict)
    )


#: what comes back in about a delivery (the outbound contract) is sent about this one, made by
#: the test: "channel/external_id" of an identified resident's delivery, and a message of the
#: desk on it (a generated address and message id name nothing, and would only ever get 404)
ANSWERED = os.environ.get("DESK_ANSWERED_DELIVERY", "")
DESK_MESSAGE = os.environ.get("DESK_ANSWERED_MESSAGE", "")
#: and the resident's satisfaction answers about this one, resolved (an open one gets 409)
ENDED = os.environ.get("DESK_ENDED_DELIVERY", "")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if not _positive_delivery(case):
        return
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    about = ENDED if case.operation.path.endswith("/feedback") else ANSWERED
    if case.operation.path.endswith(("/messages", "/receipts", "/feedback")) and about:
        channel, external_id = about.split("/", 1)
        case.path_parameters = {"channel": channel, "external_id": external_id}
        for name in ("sent_at", "at"):
            if isinstance(case.body.get(name), str):
                case.body[name] = moment
        if case.operation.path.endswith("/receipts") and "message_id" in case.body:
            case.body["message_id"] = DESK_MESSAGE
    if isinstance(case.body.get("submitted_at"), str):
        case.body["submitted_at"] = moment
    for message in case.body.get("conversation") or []:
        if isinstance(message, dict) and isinstance(message.get("sent_at"), str):
            message["sent_at"] = moment


@schemathesis.check
def positive_data_accepted_but_for_documented_rules(ctx, response, case):
    if not _positive_delivery(case):
        return None
    # 409: another example with the same external_id; 429: the rate limit, not the data
    if 200 <= response.status_code < 300 or response.status_code in (409, 429):
        return None
    if response.status_code != 422:
        raise AssertionError(f"a delivery the schema allows was answered {response.status_code}")
    document = json.dumps(case.operation.schema.raw_schema, ensure_ascii=False)
    undocumented = [p for p in response.json()["problems"] if p["message"] not in document]
    if undocumented:
        raise AssertionError(
            f"a delivery the schema allows was refused for rules it does not state: {undocumented}"
        )
    return None


@schemathesis.check
class every_channel_accepts:  # noqa: N801 (a check's name)
    def __init__(self):
        self.tested: set[str] = set()
        self.accepted: set[str] = set()

    def after_response(self, ctx, response, case):
        if _positive_delivery(case):
            self.tested.add(case.operation.label)
            if response.status_code == 202:
                self.accepted.add(case.operation.label)

    def after_run(self, ctx):
        never = self.tested - self.accepted
        if never:
            raise AssertionError("never accepted a generated delivery: " + ", ".join(sorted(never)))
