"""A professional's first day: what their availability means, and the tours.

Every account starts "offline" (away: the desk gives it no items) and signing in does not
change that, since signing in is not starting a shift: people sign in on a break, to read an
instruction, on a second computer or again after the idle timeout, and a desk that then made
them available would give items to someone who is not there, with the residents' deadlines
running. Instead the status is never a surprise: My work explains it to someone who has never
chosen one, with one button to become available, and the top bar shows it on every page
while the desk gives the person nothing.

The tours (the real desk's first-day tour and the training space's) open by themselves until
the person closes them once; that is remembered on the server (`User.tour_seen_at`, in each
space's own database), so a tour does not come back on another computer.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import Role, utcnow
from ..policy import READERS, WORKERS
from ..security import me, roles_required

bp = Blueprint("orientation", __name__)

#: the roles whose availability the desk uses (the availability form on My work)
HAS_STATUS = frozenset(role.value for role in WORKERS)
#: the roles that get the real desk's first-day tour (trainees have the training space's)
FIRST_DAY = frozenset({Role.PROFESSIONAL.value, Role.TEAM_LEAD.value, Role.ADMIN.value})


@bp.post("/me/tour-seen")
@roles_required(*READERS)
def tour_seen():
    """The tour was closed: it no longer opens by itself (the "Tour" button still opens it)."""
    user = me()
    if user.tour_seen_at is None:
        user.tour_seen_at = utcnow()
        db.session.commit()
    return "", 204


def status_effect(code: str) -> str:
    """What a status means for the person, in a sentence."""
    if code == "available":
        return _(
            "The desk may give you items from queues that share work automatically, "
            "and your team lead sees you as available."
        )
    if code == "offline":
        return _(
            "The desk gives you no items, and your team lead sees you as away. "
            "You can still take items yourself."
        )
    return _("The desk gives you no new items. You can still take items yourself.")


def status_shown() -> bool:
    """Whether the top bar shows the signed-in person's status: for those who have one,
    while the desk gives them nothing."""
    return (
        current_user.is_authenticated
        and current_user.role in HAS_STATUS
        and current_user.status != "available"
    )


def first_day_tour() -> bool:
    """Whether this page carries the real desk's first-day tour (opened from the top bar)."""
    return current_user.is_authenticated and current_user.role in FIRST_DAY


def tour_opens() -> bool:
    """Whether a tour opens by itself on this page: until the person has closed it once; the
    real desk's on My work, where its steps point, and the training space's on any page."""
    from ..training.spaces import TRAINING, current

    if not current_user.is_authenticated or current_user.tour_seen_at is not None:
        return False
    return current() == TRAINING or request.endpoint == "work.index"


def init_app(app) -> None:
    app.jinja_env.globals.update(
        status_effect=status_effect,
        status_shown=status_shown,
        first_day_tour=first_day_tour,
        tour_opens=tour_opens,
    )
