"""Single sign-on with the region's Keycloak: OpenID Connect authorisation code flow with PKCE,
through the unmodified python-keycloak client. No Flask here.

- `begin` makes the authorisation URL with a fresh `state`, `nonce` and PKCE verifier (S256).
- `finish` exchanges the code and verifies both tokens against the realm's keys: signature
  (RS256), expiry, issuer, audience (ID token) and authorised party (access token), and the
  nonce. The keys are fetched once and again only when a token names a key not seen yet.
- Roles come from the verified access token (`realm_access.roles` and
  `resource_access[<client>].roles`) through a configured map to the desk's roles;
  municipalities from a configured claim. Someone without a desk role is refused.
- `logout_subject` verifies a back-channel logout token (OpenID Connect Back-Channel Logout
  1.0) that Keycloak posts when a session ends there, so the desk can end its own at once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from jwcrypto import jwk, jws
from jwcrypto.common import JWException
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from ..models import Role


class SignInFailed(Exception):
    """The identity provider's answer cannot be trusted or used; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Begun:
    """What the desk keeps (server-side, in the session) between redirect and callback."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class Identity:
    subject: str
    username: str
    name: str
    role: Role
    municipalities: frozenset[str]
    access_token: str
    refresh_token: str | None
    id_token: str
    #: POSIX seconds when the access token and the refresh token end
    access_expires: float
    refresh_expires: float | None
    claims: dict = field(default_factory=dict, repr=False)
    #: trainer or trainee in the training space, beside a real `role`
    training_role: Role | None = None


@dataclass(frozen=True)
class Settings:
    server_url: str  # ends with "/", as python-keycloak needs
    realm: str
    client_id: str
    client_secret: str | None
    #: Keycloak role → desk role; the first match in the desk's order of power wins
    role_map: dict[str, Role]
    municipality_claim: str = "municipalities"
    scope: str = "openid profile email"
    verify_tls: bool = True


LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: how far a logout token's `iat` may be from now, in seconds
LOGOUT_AGE = 300

#: the real desk's roles in order of power, then the training space's
RANK = [Role.ADMIN, Role.AUDITOR, Role.TEAM_LEAD, Role.PROFESSIONAL]
TRAINING_RANK = [Role.TRAINER, Role.TRAINEE]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_role_map(text: str) -> dict[str, Role]:
    """`"desk-nurse=professional,desk-lead=team_lead"` → {"desk-nurse": Role.PROFESSIONAL, …}."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        source, _, target = pair.partition("=")
        mapping[source.strip()] = Role(target.strip())
    return mapping


class Keycloak:
    def __init__(self, settings: Settings) -> None:
        if not settings.server_url.endswith("/"):
            raise ValueError("the Keycloak server URL must end with '/'")
        self.settings = settings
        self.client = KeycloakOpenID(
            server_url=settings.server_url,
            realm_name=settings.realm,
            client_id=settings.client_id,
            client_secret_key=settings.client_secret,
            verify=settings.verify_tls,
            timeout=10,
        )
        self._keys: jwk.JWKSet | None = None
        self._kids: set[str] = set()
        self._lock = threading.Lock()
        self.issuer = f"{settings.server_url}realms/{settings.realm}"

    # --- keys ---------------------------------------------------------------------------------

    def _keyset(self, kid: str | None) -> jwk.JWKSet:
        with self._lock:
            if self._keys is None or (kid and kid not in self._kids):
                # Fetched once, and again only for a key not seen yet (a rotation).
                certs = self.client.certs()["keys"]
                keys = jwk.JWKSet()
                for cert in certs:
                    keys.add(jwk.JWK(**cert))
                self._keys, self._kids = keys, {cert.get("kid") for cert in certs}
            return self._keys

    def _verify(self, token: str, required: tuple[str, ...] = ("exp",), **claims) -> dict:
        try:
            header = jws.JWS()
            header.deserialize(token)
            kid = header.jose_header.get("kid")
            if header.jose_header.get("alg") != "RS256":
                raise SignInFailed("algorithm")
            return self.client.decode_token(
                token,
                key=self._keyset(kid),
                check_claims={**dict.fromkeys(required), **claims},
            )
        except SignInFailed:
            raise
        except (JWException, ValueError, KeyError) as error:
            raise SignInFailed(_reason(error)) from error

    # --- the flow -----------------------------------------------------------------------------

    def begin(self, redirect_uri: str) -> Begun:
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = _b64(hashlib.sha256(verifier.encode()).digest())
        url = self.client.auth_url(
            redirect_uri=redirect_uri,
            scope=self.settings.scope.replace(" ", "%20"),
            state=state,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        return Begun(url, state, nonce, verifier)

    def finish(self, code: str, redirect_uri: str, begun_nonce: str, verifier: str) -> Identity:
        try:
            tokens = self.client.token(
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=verifier,
            )
        except KeycloakError as error:
            raise SignInFailed("code_refused") from error
        return self._identity(tokens, nonce=begun_nonce)

    def refresh(self, refresh_token: str) -> Identity:
        try:
            tokens = self.client.refresh_token(refresh_token)
        except KeycloakError as error:
            raise SignInFailed("session_ended") from error
        return self._identity(tokens, nonce=None)

    def logout(self, refresh_token: str | None) -> None:
        """End the Keycloak session (back channel); a failure leaves only the desk's ended."""
        if refresh_token:
            with contextlib.suppress(KeycloakError):
                self.client.logout(refresh_token)

    def end_session_url(self, id_token: str, after: str) -> str:
        """Where the browser goes to end its Keycloak session, then comes back to `after`."""
        endpoint = self.client.well_known()["end_session_endpoint"]
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": after,
                "client_id": self.settings.client_id,
            }
        )
        return f"{endpoint}?{query}"

    def logout_subject(self, token: str, now: float | None = None) -> tuple[str | None, str | None]:
        """The Keycloak session id and subject a back-channel logout token ends, once the token
        is verified: signature, issuer, audience, the logout event, no nonce, a recent `iat`
        (and `exp` when present)."""
        claims = self._verify(
            token, required=("iat",), iss=self.issuer, aud=self.settings.client_id
        )
        events = claims.get("events")
        if not isinstance(events, dict) or LOGOUT_EVENT not in events:
            raise SignInFailed("logout_event")
        if "nonce" in claims:
            raise SignInFailed("nonce")
        now = now or time.time()
        issued, expires = claims.get("iat"), claims.get("exp", now + 1)
        if not isinstance(issued, int | float) or abs(now - issued) > LOGOUT_AGE:
            raise SignInFailed("expired")
        if not isinstance(expires, int | float) or expires <= now:
            raise SignInFailed("expired")
        sid, sub = claims.get("sid"), claims.get("sub")
        if not sid and not sub:
            raise SignInFailed("logout_subject")
        return sid, sub

    # --- claims -------------------------------------------------------------------------------

    def _identity(self, tokens: dict, nonce: str | None) -> Identity:
        client = self.settings.client_id
        id_claims = self._verify(tokens["id_token"], iss=self.issuer, aud=client)
        if nonce is not None and not secrets.compare_digest(id_claims.get("nonce", ""), nonce):
            raise SignInFailed("nonce")
        access = self._verify(tokens["access_token"], iss=self.issuer)
        if access.get("azp") != client and client not in _audiences(access):
            raise SignInFailed("audience")
        if access.get("sub") != id_claims.get("sub"):
            raise SignInFailed("subject")
        role, training_role = self.roles_of(access)
        if role is None:
            raise SignInFailed("no_role")
        now = time.time()
        refresh_in = tokens.get("refresh_expires_in")
        return Identity(
            subject=access["sub"],
            username=id_claims.get("preferred_username") or access.get("preferred_username"),
            name=id_claims.get("name") or id_claims.get("preferred_username", ""),
            role=role,
            municipalities=frozenset(self.municipalities_of(access)),
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token"),
            id_token=tokens["id_token"],
            access_expires=float(access.get("exp", now + tokens.get("expires_in", 60))),
            refresh_expires=now + refresh_in if refresh_in else None,
            claims=access,
            training_role=training_role,
        )

    def roles_of(self, access: dict) -> tuple[Role | None, Role | None]:
        """The desk role and, beside a real one, the training role. The strongest real role
        wins; an account with only training roles is its strongest training role."""
        names = set(access.get("realm_access", {}).get("roles", []))
        client = access.get("resource_access", {}).get(self.settings.client_id, {})
        names |= set(client.get("roles", []))
        roles = {self.settings.role_map[n] for n in names if n in self.settings.role_map}
        real = next((r for r in RANK if r in roles), None)
        training = next((r for r in TRAINING_RANK if r in roles), None)
        return (real, training) if real is not None else (training, None)

    def municipalities_of(self, access: dict) -> list[str]:
        value = access.get(self.settings.municipality_claim, [])
        if isinstance(value, str):
            value = value.split(",")
        # Group paths such as "/municipalities/porvoo" name the municipality last.
        return [str(v).strip().rstrip("/").rsplit("/", 1)[-1] for v in value if str(v).strip()]


def _audiences(claims: dict) -> set[str]:
    aud = claims.get("aud", [])
    return {aud} if isinstance(aud, str) else set(aud)


def _reason(error: Exception) -> str:
    text = str(error).lower()
    if "expired" in text:
        return "expired"
    if "aud" in text:
        return "audience"
    if "iss" in text:
        return "issuer"
    return "signature"
