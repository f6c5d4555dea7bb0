"""A small Keycloak-compatible identity provider for the tests, served over real HTTP.

It answers the realm paths python-keycloak calls — well-known, auth, token, certs, userinfo,
logout — signs with a real RS256 key, keeps authorisation codes single-use, checks PKCE and
the client secret, and keeps sessions that logout ends. Knobs let a test spoil the next
tokens (tampered, expired, wrong audience, another key) to see the desk refuse them.

Served on its own (`python -m tests.idp --port 8180 --people 200 --output people.json`), it
stands in for the region's Keycloak in the production shape (`scripts/production.sh`), which
refuses local accounts: professionals `pro0001…` and team leads `lead01…`, all with one
password written to the people file (see `main`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
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
    #: the confidential client's secret (the tests' fixed one, or the production shape's own)
    client_secret: str = CLIENT_SECRET

    def __post_init__(self) -> None:
        self.key = jwk.JWK.generate(kty="RSA", size=2048, kid=KID, alg="RS256")
        self.other_key = jwk.JWK.generate(kty="RSA", size=2048, kid=KID, alg="RS256")

    @property
    def issuer(self) -> str:
        return f"{self.base}/realms/{REALM}"

    def desk_settings(self, roles: str = "desk-professional=professional") -> dict:
        """The desk's DESK_KEYCLOAK for signing in here, with `roles` mapped."""
        return {
            "server_url": self.base + "/",
            "realm": REALM,
            "client_id": CLIENT_ID,
            "client_secret": self.client_secret,
            "roles": roles,
            "municipality_claim": "municipalities",
        }

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
        secret = form.get("client_secret")
        if form.get("client_id") != CLIENT_ID or secret != provider.client_secret:
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


# --- served on its own: the production shape's stand-in for the region's Keycloak -----------

#: the desk's roles in the realm (scripts/production.sh maps them as tests/test_sso.py does)
PROFESSIONAL_ROLE = "desk-professional"
TEAM_LEAD_ROLE = "desk-team-lead"


def people(count: int, leads: int, municipalities: list[str], password: str) -> dict[str, Person]:
    """Professionals `pro0001…` and team leads `lead01…`, each in every municipality given
    (as Keycloak group paths), all with one password. A person's `sub` is made from the
    username, so it is the same after a restart."""

    def person(username: str, name: str, role: str) -> Person:
        return Person(
            password,
            name,
            realm_roles=[role, "offline_access"],
            municipalities=[f"/municipalities/{code}" for code in municipalities],
            sub=str(uuid.uuid5(uuid.NAMESPACE_URL, f"desk-idp-stand-in:{username}")),
        )

    found = {
        f"pro{n:04d}": person(f"pro{n:04d}", f"Professional {n:04d}", PROFESSIONAL_ROLE)
        for n in range(1, count + 1)
    }
    for n in range(1, leads + 1):
        found[f"lead{n:02d}"] = person(f"lead{n:02d}", f"Team Lead {n:02d}", TEAM_LEAD_ROLE)
    return found


def _private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (also while it is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)


def _signing_key(path: Path | None) -> jwk.JWK:
    """The realm's key, kept in `path` so that a restart signs alike (the desk fetches a
    realm's keys once, and again only for a key id it has not seen)."""
    if path is not None and path.exists():
        return jwk.JWK.from_json(path.read_text())
    key = jwk.JWK.generate(kty="RSA", size=2048, kid=KID, alg="RS256")
    if path is not None:
        _private(path, key.export_private())
    return key


def main(argv: list[str] | None = None) -> None:
    """Serve the provider until stopped. The client secret comes from the environment
    (`IDP_CLIENT_SECRET`, else `DESK_KEYCLOAK_CLIENT_SECRET`), never the command line; the
    password is kept from an earlier people file, else made."""
    from desk.reference import municipality_codes

    parser = argparse.ArgumentParser(
        prog="python -m tests.idp",
        description="A Keycloak-compatible stand-in for the region's identity provider.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--people", type=int, default=200, help="professionals pro0001…")
    parser.add_argument("--leads", type=int, default=5, help="team leads lead01…")
    parser.add_argument(
        "--municipalities",
        default=",".join(municipality_codes()),
        help="comma-separated municipality codes everyone has (default: all)",
    )
    parser.add_argument("--output", type=Path, help="the people file (JSON, mode 600)")
    parser.add_argument("--key-file", type=Path, help="the realm's signing key (JWK, mode 600)")
    args = parser.parse_args(argv)

    password = None
    if args.output is not None and args.output.exists():
        password = json.loads(args.output.read_text()).get("password")
    password = password or secrets.token_urlsafe(12)
    provider = Provider(
        base=f"http://{args.host}:{args.port}",
        client_secret=os.environ.get("IDP_CLIENT_SECRET")
        or os.environ.get("DESK_KEYCLOAK_CLIENT_SECRET")
        or CLIENT_SECRET,
    )
    provider.key = _signing_key(args.key_file)
    codes = [code.strip() for code in args.municipalities.split(",") if code.strip()]
    provider.people = people(args.people, args.leads, codes, password)
    if args.output is not None:
        listing = {
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "password": password,
            "people": [
                {
                    "username": username,
                    "name": person.name,
                    "roles": person.realm_roles,
                    "municipalities": person.municipalities,
                }
                for username, person in provider.people.items()
            ],
        }
        _private(args.output, json.dumps(listing, indent=1) + "\n")
    server = make_server(args.host, args.port, create(provider), threaded=True)
    print(f"Identity provider stand-in: {provider.issuer} ({len(provider.people)} people)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
