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
