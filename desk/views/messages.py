"""Domain errors and outcomes worded for people, in the interface language."""

from __future__ import annotations

from flask_babel import gettext as _

from ..errors import DomainError


def describe(error: DomainError) -> str:
    """The message a user sees for a refused action; nothing was changed."""
    params = error.params
    match error.code:
        case "already_taken":
            return _("%(holder)s already has this item.", holder=params.get("holder", "?"))
        case "not_holder":
            return _("Take the item first: only the professional holding it can do that.")
        case "item_closed":
            return _("The item is already resolved.")
        case "wrong_status":
            return _("That cannot be done in the item's current state.")
        case "inactive_queue":
            return _("Choose an active queue to transfer to.")
        case "same_queue":
            return _("The item is already in that queue.")
        case "text_required":
            return _("Write a reason or note first.")
        case "text_too_long":
            return _(
                "The text is too long (at most %(limit)d characters).", limit=params.get("limit", 0)
            )
        case "unknown_outcome":
            return _("Choose an outcome.")
        case "stale":
            return _("Someone changed the item meanwhile. Check it and try again.")
        case "unfilled_placeholders":
            return _(
                "Fill in or remove the template's placeholders first: %(names)s.",
                names=params.get("names", ""),
            )
        case "unknown_municipality":
            return _("Choose a municipality of the region.")
        case "not_answerable":
            return _(
                "No source system receives messages for this channel now: the message was not "
                "sent. Answer another way, or ask an administrator."
            )
        case "resident_not_identified":
            return _("The resident is not identified: only a reply in a live chat can go to them.")
        case "chat_ended":
            return _("The chat has ended: the resident can no longer read replies in it.")
        case "invalid_link":
            return _("Attach only the links offered, at most %(limit)d.", limit=10)
        case "invalid_reply_by":
            return _(
                "Give an answer-by date from tomorrow to %(limit)d days ahead.",
                limit=params.get("limit", 90),
            )
        case "not_retryable":
            return _("Only a message whose sending failed can be sent again.")
        case "no_phone_number":
            return _("The item has no phone number to call.")
        case "unknown_call_result":
            return _("Choose how the call went.")
        case "attempt_limit":
            return _(
                "The queue's rule allows %(limit)d call attempts, and they were made. Resolve "
                "the item as not reached, or set a time to call later.",
                limit=params.get("limit", 0),
            )
        case "retry_outside_hours":
            return _(
                "Choose a later time within the calling hours of a working day, "
                "%(opens)s–%(closes)s, at most 30 days ahead.",
                opens=params.get("opens", ""),
                closes=params.get("closes", ""),
            )
        case "name_required":
            return _("Write the caller's name as they gave it.")
        case "invalid_personal_id":
            return _(
                "That is not a valid personal identity code: check the date of birth, the "
                "century sign and the check character."
            )
        case "not_permitted" | "not_found":
            return _("You do not have access to this item.")
    return _("The action could not be done.")
