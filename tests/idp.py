"""A small Keycloak-compatible identity provider for the tests, served over real HTTP.

It answers the realm paths python-keycloak calls — well-known, auth, token, certs, userinfo,
logout — signs with a real RS256 key, keeps authorisation codes single-use, checks PKCE and
the client secret, and keeps sessions that logout ends. Knobs let a test spoil the next
tokens (tampered, expired, wrong audience, another key) to see the desk refuse them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from jwcrypto import jwk, jwt
from werkzeug.serving import make_server

REALM = "itauusimaa"
CLIENT_ID = "desk"
KID = "test-key-1"
CLIENT_SECRET = "desk-test-secret"  # noqa: S105 (a test fixture's, served on 127.0.0.1)


@dataclass
class Person:
    password: str
    name: str
    realm_roles: list[str] = field(default_factory=list)
    client_roles: list[str] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)
    sub: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class Provider:
    base: str = ""
    people: dict[str, Person] = field(default_factory=dict)
    codes: dict[str, dict] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)  # refresh token → session
    ended: set[str] = field(default_factory=set)  # session ids
    access_lifetime: int = 300
    #: the next tokens are spoiled: "tamper", "expired", "audience", "other_key", "issuer",
    #: "nonce"
    spoil: str | None = None
    calls: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.key = jwk.JWK.generate(kty="RSA", size=2048, kid=KID, alg="RS256")
        self.other_key = jwk.JWK.generate(kty="RSA", size=2048, kid=KID, alg="RS256")

    @property
    def issuer(self) -> str:
        return f"{self.base}/realms/{REALM}"

    def count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def sign(self, claims: dict) -> str:
        spoil = self.spoil
        key = self.other_key if spoil == "other_key" else self.key
        token = jwt.JWT(header={"alg": "RS256", "kid": KID, "typ": "JWT"}, claims=claims)
        token.make_signed_token(key)
        text = token.serialize()
        if spoil == "tamper":
            head, body, signature = text.split(".")
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            payload["realm_access"] = {"roles": ["desk-admin"]}
            forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
            text = ".".join([head, forged.decode(), signature])
        return text

    def end_sessions(self, username: str) -> list[str]:
        """An administrator ends the person's sessions in Keycloak; their session ids."""
        ended = {s["sid"] for s in self.sessions.values() if s["username"] == username}
        self.ended |= ended
        return sorted(ended)

    def logout_token(self, sid: str | None = None, sub: str | None = None, **changes) -> str:
        """What Keycloak posts to the client's back-channel logout URL when a session ends
        (OpenID Connect Back-Channel Logout 1.0); `changes` spoil or drop (None) claims."""
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": secrets.token_hex(8),
            "typ": "Logout",
            "sid": sid,
            "sub": sub,
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
            **changes,
        }
        return self.sign({k: v for k, v in claims.items() if v is not None})

    def tokens(self, username: str, session_id: str, nonce: str | None) -> dict:
        person = self.people[username]
        now = int(time.time())
        exp = now + self.access_lifetime
        if self.spoil == "expired":
            now, exp = now - 3600, now - 1800
        issuer = "https://elsewhere.example/realms/x" if self.spoil == "issuer" else self.issuer
        audience = "someone-else" if self.spoil == "audience" else CLIENT_ID
        common = {
            "iss": issuer,
            "sub": person.sub,
            "iat": now,
            "exp": exp,
            "sid": session_id,
            "preferred_username": username,
        }
        access = {
            **common,
            "typ": "Bearer",
            "aud": "account",
            "azp": audience,
            "realm_access": {"roles": person.realm_roles},
            "resource_access": {CLIENT_ID: {"roles": person.client_roles}},
            "municipalities": person.municipalities,
        }
        identity = {**common, "typ": "ID", "aud": audience, "azp": audience, "name": person.name}
        if nonce:
            identity["nonce"] = "replayed-" + nonce if self.spoil == "nonce" else nonce
        refresh = secrets.token_urlsafe(32)
        self.sessions[refresh] = {"username": username, "sid": session_id}
        return {
            "access_token": self.sign(access),
            "id_token": self.sign(identity),
            "refresh_token": refresh,
            "expires_in": self.access_lifetime,
            "refresh_expires_in": 1800,
            "token_type": "Bearer",
            "session_state": session_id,
            "scope": "openid profile email",
        }


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def create(provider: Provider) -> Flask:
    app = Flask("idp")
    realm = f"/realms/{REALM}"

    @app.get(f"{realm}/.well-known/openid-configuration")
    def well_known():
        provider.count("well_known")
        base = f"{provider.issuer}/protocol/openid-connect"
        return jsonify(
            issuer=provider.issuer,
            authorization_endpoint=f"{base}/auth",
            token_endpoint=f"{base}/token",
            userinfo_endpoint=f"{base}/userinfo",
            end_session_endpoint=f"{base}/logout",
            jwks_uri=f"{base}/certs",
            response_types_supported=["code"],
            code_challenge_methods_supported=["S256"],
            id_token_signing_alg_values_supported=["RS256"],
        )

    @app.get(f"{realm}/protocol/openid-connect/certs")
    def certs():
        provider.count("certs")
        return jsonify(keys=[provider.key.export_public(as_dict=True)])

    @app.route(f"{realm}/protocol/openid-connect/auth", methods=["GET", "POST"])
    def auth():
        provider.count("auth")
        args = request.values
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
            abort(400)
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            abort(400)  # this realm requires PKCE
        error = ""
        if request.method == "POST":
            person = provider.people.get(args.get("username", ""))
            if person and secrets.compare_digest(person.password, args.get("password", "")):
                code = secrets.token_urlsafe(24)
                provider.codes[code] = {
                    "username": args["username"],
                    "redirect_uri": args["redirect_uri"],
                    "nonce": args.get("nonce"),
                    "challenge": args["code_challenge"],
                    "sid": secrets.token_hex(8),
                }
                query = urlencode({"code": code, "state": args.get("state", "")})
                return redirect(f"{args['redirect_uri']}?{query}")
            error = "<p role='alert'>Invalid username or password.</p>"
        hidden = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in args.items()
            if k not in ("username", "password")
        )
        return (
            "<!doctype html><html lang='en'><head><title>Sign in to itauusimaa</title></head>"
            f"<body><main><h1>Sign in</h1>{error}<form method='post'>{hidden}"
            "<label for='username'>Username</label><input id='username' name='username'>"
            "<label for='password'>Password</label>"
            "<input id='password' name='password' type='password'>"
            "<button type='submit'>Sign in</button></form></main></body></html>"
        )

    @app.post(f"{realm}/protocol/openid-connect/token")
    def token():
        provider.count("token")
        form = request.form
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return jsonify(error="unauthorized_client"), 401
        grant = form.get("grant_type")
        if grant == "authorization_code":
            found = provider.codes.pop(form.get("code", ""), None)  # single use
            if found is None or found["redirect_uri"] != form.get("redirect_uri"):
                return jsonify(error="invalid_grant"), 400
            if _challenge(form.get("code_verifier", "")) != found["challenge"]:
                return jsonify(error="invalid_grant", error_description="PKCE"), 400
            return jsonify(provider.tokens(found["username"], found["sid"], found["nonce"]))
        if grant == "refresh_token":
            session = provider.sessions.pop(form.get("refresh_token", ""), None)
            if session is None or session["sid"] in provider.ended:
                return jsonify(error="invalid_grant"), 400
            provider.count("refresh")
            return jsonify(provider.tokens(session["username"], session["sid"], None))
        return jsonify(error="unsupported_grant_type"), 400

    @app.get(f"{realm}/protocol/openid-connect/userinfo")
    def userinfo():
        return jsonify(error="not used by the desk"), 400

    @app.route(f"{realm}/protocol/openid-connect/logout", methods=["GET", "POST"])
    def logout():
        provider.count("logout")
        if request.method == "POST":
            session = provider.sessions.get(request.form.get("refresh_token", ""))
            if session is None:
                return jsonify(error="invalid_grant"), 400
            provider.ended.add(session["sid"])
            return "", 204
        after = request.args.get("post_logout_redirect_uri")
        return redirect(after) if after else ("Signed out", 200)

    return app


@contextmanager
def serve(provider: Provider | None = None) -> Iterator[Provider]:
    provider = provider or Provider()
    server = make_server("127.0.0.1", 0, create(provider), threaded=True)
    provider.base = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=10)
