"""Domain errors: each carries a stable code and parameters; the UI words them per language."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; nothing was changed."""

    code = "domain"

    def __init__(self, **params: object) -> None:
        super().__init__(f"{self.code}: {params}" if params else self.code)
        self.params = params


class ItemNotFound(DomainError):
    code = "not_found"


class NotPermitted(DomainError):
    code = "not_permitted"


class AlreadyTaken(DomainError):
    """Somebody else holds the item; `holder` names them."""

    code = "already_taken"


class NotHolder(DomainError):
    code = "not_holder"


class ItemClosed(DomainError):
    code = "item_closed"


class WrongStatus(DomainError):
    code = "wrong_status"


class InactiveQueue(DomainError):
    code = "inactive_queue"


class SameQueue(DomainError):
    code = "same_queue"


class TextRequired(DomainError):
    code = "text_required"


class TextTooLong(DomainError):
    code = "text_too_long"


class UnknownOutcome(DomainError):
    code = "unknown_outcome"


class StaleItem(DomainError):
    """The item changed after the user loaded it; they must look again before acting."""

    code = "stale"


class UnfilledPlaceholders(DomainError):
    """A template's placeholders are still in the text: fill them in before saving."""

    code = "unfilled_placeholders"


class UnknownMunicipality(DomainError):
    code = "unknown_municipality"


class NotAnswerable(DomainError):
    """No enabled outbound endpoint serves the item's channel: it cannot be answered here."""

    code = "not_answerable"


class ResidentNotIdentified(DomainError):
    """Content outside a live chat goes only to a strongly identified resident."""

    code = "resident_not_identified"


class ChatEnded(DomainError):
    """The chat was closed: the resident's window is gone (send a message instead)."""

    code = "chat_ended"


class InvalidLink(DomainError):
    """An attached link is not a titled https address, or there are too many."""

    code = "invalid_link"


class InvalidReplyBy(DomainError):
    """A request for more information needs an answer-by date between tomorrow and `limit`."""

    code = "invalid_reply_by"


class NotRetryable(DomainError):
    """Only a failed message can be sent again."""

    code = "not_retryable"


class InvalidEndpoint(DomainError):
    """An outbound endpoint's URL, name or channels were refused; `reason` says which."""

    code = "invalid_endpoint"


class NoPhoneNumber(DomainError):
    """The item has no number to call."""

    code = "no_phone_number"


class UnknownCallResult(DomainError):
    code = "unknown_call_result"


class AttemptLimit(DomainError):
    """The queue's rule allows `limit` attempts, and they were made: decide first."""

    code = "attempt_limit"


class RetryOutsideHours(DomainError):
    """The next call must be later than now, within 30 days, and in the calling hours of a
    working day (`opens`–`closes`)."""

    code = "retry_outside_hours"


class InvalidPersonalId(DomainError):
    """A personal identity code that is not one; `reason` says why (desk.pid)."""

    code = "invalid_personal_id"


class NameRequired(DomainError):
    """The caller's name is needed to identify them."""

    code = "name_required"
