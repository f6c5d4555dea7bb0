"""Authentication behind one seam: local password accounts now, single sign-on later.

Views call `authenticate`; the rest of the app only sees `current_user`, a `User` row.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db, login_manager
from .models import User


class LoginUser:
    """Adapts a `User` row to flask-login without putting Flask into the model."""

    def __init__(self, user: User) -> None:
        self.user = user

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.user.id)

    def __getattr__(self, name: str):
        return getattr(self.user, name)


def authenticate(username: str, password: str) -> User | None:
    """The active local account with this username and password, or None."""
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active or not user.password_hash:
        # Spend the same time as a real check so that usernames cannot be probed by timing.
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def set_password(user: User, password: str) -> None:
    """Store only a salted hash of the password."""
    user.password_hash = generate_password_hash(password)


_DUMMY_HASH = generate_password_hash("not a password")


def init_app(app: Flask) -> None:
    """Wire flask-login to the user table."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> LoginUser | None:
        try:
            user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        except SQLAlchemyError:
            # Without the database nobody is signed in, so the error page can still be shown.
            db.session.rollback()
            return None
        return LoginUser(user) if user is not None and user.active else None
