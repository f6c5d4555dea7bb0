"""How residents see me: the first name and professional title my messages carry (the outbound
contract's `sender`; never a username)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..security import WORKERS, me, roles_required

bp = Blueprint("profile", __name__, url_prefix="/profile")

FIELDS = {"public_name": 60, "title_fi": 80, "title_sv": 80, "title_en": 80}


@bp.get("")
@roles_required(*WORKERS)
def edit():
    return render_template("profile/edit.html", values=_values(), problems={})


@bp.post("")
@roles_required(*WORKERS)
def update():
    values = {name: " ".join(request.form.get(name, "").split()) for name in FIELDS}
    problems = {
        name: _("At most %(limit)s characters.", limit=limit)
        for name, limit in FIELDS.items()
        if len(values[name]) > limit
    }
    if problems:
        return render_template("profile/edit.html", values=values, problems=problems), 422
    user = me()
    for name in FIELDS:
        setattr(user, name, values[name] or None)
    db.session.commit()
    flash(_("Saved. Your next messages show residents: %(name)s.", name=user.shown_name), "success")
    return redirect(url_for("profile.edit"))


def _values() -> dict[str, str]:
    user = me()
    return {name: getattr(user, name) or "" for name in FIELDS}
