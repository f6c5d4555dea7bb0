""" "Pyydä apua" (ask for help): a short request in the resident's own words."""

from __future__ import annotations

from typing import Literal

from ..base import Delivery, Model, Text


class Request(Model):
    topic: Text(200)
    message: Text()
    contact_preference: Literal["phone", "email", "message"] | None = None


class HelpRequestDelivery(Delivery):
    """A request for help, anonymous or from an identified resident."""

    request: Request
