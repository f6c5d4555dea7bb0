"""A signed-in test client that behaves like the desk's pages (CSRF token, htmx header)."""

from __future__ import annotations

import re

from tests.factories import PASSWORD


class Browser:
    """A signed-in test client that sends the CSRF token like the desk's pages do."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        response = self.client.get(url, **kw)
        match = re.search(rb'name="csrf-token" content="([^"]+)"', response.data)
        if match:
            self.token = match.group(1).decode()
        return response

    def post(self, url, data=None, htmx=True, **kw):
        headers = {"X-CSRFToken": self.token}
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=data or {}, headers=headers, **kw)

    def login(self, user):
        self.get("/login")
        response = self.client.post(
            "/login",
            data={"username": user.username, "password": PASSWORD, "csrf_token": self.token},
        )
        assert response.status_code == 302, response.data
        self.get("/work")
        return self


def text(response) -> str:
    return response.get_data(as_text=True)
