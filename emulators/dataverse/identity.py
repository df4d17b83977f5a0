"""Entra ID on the emulator's own host: OpenID discovery, the v2.0 token endpoint (`scope=`)
and the v1 one (`resource=`, what ADAL-era clients call); grants: client credentials for the
application user, and for one delegated user the password grant (how a script signs in a user
without a browser) and the refresh-token grant that keeps it signed in. Tokens expire on the
emulator clock (access 1 hour, refresh 90 days of inactivity); errors are AADSTS bodies."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulators.common.clock import EmulatorClock

TOKEN_LIFETIME_S = 3599
REFRESH_INACTIVITY_S = 90 * 24 * 3600
DELEGATED_USERNAME = "admin@contoso.onmicrosoft.com"
DELEGATED_PASSWORD = "dataverse-emulator-user-password"


@dataclass
class IssuedToken:
    user_id: str
    expires_at: float


@dataclass
class RefreshToken:
    user_id: str
    resource: str
    last_used: float


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def aad_error(code: int, error: str, description: str) -> dict[str, Any]:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
        f"Timestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


# Entra's tenant aliases a token request may name instead of the tenant: `common` (any account;
# not for client credentials, AADSTS9001023) and `organizations` (work and school accounts).
TENANT_ALIASES = ("common", "organizations")


class EntraId:
    def __init__(
        self, clock: EmulatorClock, tenant_id: str, client_id: str, client_secret: str, app_user_id: str
    ) -> None:
        self.clock = clock
        self.tenant_id, self.client_id, self.client_secret, self.app_user_id = (
            tenant_id,
            client_id,
            client_secret,
            app_user_id,
        )
        self.tokens: dict[str, IssuedToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.delegated_user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"user:{DELEGATED_USERNAME}"))

    def openid_configuration(self, base_url: str, tenant: str) -> dict[str, Any]:
        root = f"{base_url}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base_url}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base_url}/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "oid", "tid"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }

    def _refusal(self, form: dict[str, str], tenant: str) -> tuple[int, dict[str, Any]] | None:
        grant = form.get("grant_type")
        if grant not in ("client_credentials", "password", "refresh_token"):
            return 400, aad_error(70003, "unsupported_grant_type", "The app requested an unsupported grant type.")
        if tenant not in (self.tenant_id, *TENANT_ALIASES):
            return 400, aad_error(90002, "invalid_request", f"Tenant '{tenant}' not found.")
        if tenant == "common" and grant == "client_credentials":  # an app-only token needs its tenant
            return 400, aad_error(
                9001023,
                "invalid_request",
                "The grant type is not supported over the /common or /consumers endpoints. "
                "Please use the /organizations or tenant-specific endpoint.",
            )
        if form.get("client_id") != self.client_id:
            return 400, aad_error(
                700016,
                "unauthorized_client",
                f"Application with identifier '{form.get('client_id')}' was not found in the directory.",
            )
        if grant != "client_credentials" and "client_secret" not in form:
            return None  # a public client signing a user in sends no secret
        if form.get("client_secret") != self.client_secret:
            return 401, aad_error(
                7000215,
                "invalid_client",
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app '{self.client_id}'.",
            )
        return None

    def issue(self, form: dict[str, str], tenant: str, resource: str) -> tuple[int, dict[str, Any]]:
        """The v2.0 endpoint: `scope=<resource>/.default`."""
        refused = self._refusal(form, tenant)
        if refused is not None:
            return refused
        scope = form.get("scope", "")
        asked = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
        allowed = {f"{resource}/.default", f"{resource}//.default", f"{resource}/user_impersonation"}
        if form.get("grant_type") == "refresh_token" and not asked:
            asked = [f"{resource}/.default"]  # a refresh may leave the scope to the grant's
        if len(asked) != 1 or asked[0] not in allowed:
            return 400, aad_error(
                500011,
                "invalid_resource",
                f"The resource principal named {scope.removesuffix('/.default')} was not found in the tenant.",
            )
        user = self._user(form, resource)
        if isinstance(user, tuple):
            return user
        token, _ = self._mint(resource, user)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "ext_expires_in": TOKEN_LIFETIME_S,
            "access_token": token,
        }
        if form["grant_type"] != "client_credentials":
            body.update(self._user_tokens(form, scope.split(), user, resource))
        return 200, body

    def _user_tokens(self, form: dict[str, str], scopes: list[str], user: str, resource: str) -> dict[str, Any]:
        """What a user's sign-in adds: the granted scopes, a refresh token (offline_access), an ID
        token (openid) and client_info (client_info=1) — what MSAL builds its account from."""
        granted = [f"{resource}/user_impersonation", *(s for s in ("openid", "profile") if s in scopes)]
        extra: dict[str, Any] = {}
        if "offline_access" in scopes or form["grant_type"] == "refresh_token":
            granted.append("offline_access")
            extra["refresh_token"] = self._refresh_token(user, resource)
        extra["scope"] = " ".join(granted)
        now = int(self.clock.now())
        if "openid" in scopes:
            claims = {
                "aud": self.client_id,
                "iss": f"https://login.microsoftonline.com/{self.tenant_id}/v2.0",
                "iat": now,
                "nbf": now,
                "exp": now + TOKEN_LIFETIME_S,
                "oid": user,
                "sub": user,
                "tid": self.tenant_id,
                "preferred_username": DELEGATED_USERNAME,
                "name": "Contoso Admin",
                "ver": "2.0",
            }
            extra["id_token"] = f"{_b64({'typ': 'JWT', 'alg': 'RS256'})}.{_b64(claims)}.{secrets.token_urlsafe(32)}"
        if form.get("client_info") == "1":
            extra["client_info"] = _b64({"uid": user, "utid": self.tenant_id})
        return extra

    def issue_v1(self, form: dict[str, str], tenant: str, resource: str) -> tuple[int, dict[str, Any]]:
        """The v1 endpoint: `resource=<org URL>`; numbers come back as strings, as v1 sends them."""
        refused = self._refusal(form, tenant)
        if refused is not None:
            return refused
        asked = form.get("resource")
        if not asked:
            return 400, aad_error(
                900144, "invalid_request", "The request body must contain the following parameter: 'resource'."
            )
        if asked.rstrip("/") != resource:
            return 400, aad_error(500011, "invalid_resource", f"The resource principal named {asked} was not found.")
        user = self._user(form, resource)
        if isinstance(user, tuple):
            return user
        token, now = self._mint(resource, user)
        body = {
            "token_type": "Bearer",
            "expires_in": str(TOKEN_LIFETIME_S),
            "ext_expires_in": str(TOKEN_LIFETIME_S),
            "expires_on": str(int(now + TOKEN_LIFETIME_S)),
            "not_before": str(int(now)),
            "resource": asked,
            "access_token": token,
        }
        if form["grant_type"] != "client_credentials":
            body.update(scope="user_impersonation", refresh_token=self._refresh_token(user, resource))
        return 200, body

    def _user(self, form: dict[str, str], resource: str) -> str | tuple[int, dict[str, Any]]:
        """Who the token acts as: the application user, the delegated user by password, or the
        user a refresh token was issued to (while used within 90 days)."""
        grant = form["grant_type"]
        if grant == "client_credentials":
            return self.app_user_id
        if grant == "password":
            if form.get("username", "").lower() != DELEGATED_USERNAME or form.get("password") != DELEGATED_PASSWORD:
                return 400, aad_error(
                    50126, "invalid_grant", "Error validating credentials due to invalid username or password."
                )
            return self.delegated_user_id
        held = self.refresh_tokens.get(form.get("refresh_token", ""))
        if held is None or held.resource != resource:
            return 400, aad_error(9002313, "invalid_grant", "Invalid request. Request is malformed or invalid.")
        now = self.clock.now()
        if now - held.last_used > REFRESH_INACTIVITY_S:
            return 400, aad_error(
                700082,
                "invalid_grant",
                "The refresh token has expired due to inactivity. The token was issued on "
                f"{datetime.fromtimestamp(held.last_used, UTC).isoformat()} and was inactive for 90.00:00:00.",
            )
        held.last_used = now
        return held.user_id

    def _refresh_token(self, user_id: str, resource: str) -> str:
        """A new refresh token with each grant; the old one stays valid, as Entra's do."""
        token = f"0.A{secrets.token_urlsafe(48)}"
        self.refresh_tokens[token] = RefreshToken(user_id, resource, self.clock.now())
        return token

    def _mint(self, resource: str, user_id: str) -> tuple[str, float]:
        now = self.clock.now()
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + TOKEN_LIFETIME_S),
            "appid": self.client_id,
            "oid": user_id,
            "tid": self.tenant_id,
        }
        if user_id == self.delegated_user_id:
            claims.update(upn=DELEGATED_USERNAME, scp="user_impersonation")
        token = f"{_b64({'typ': 'JWT', 'alg': 'RS256'})}.{_b64(claims)}.{secrets.token_urlsafe(32)}"
        self.tokens[token] = IssuedToken(user_id, now + TOKEN_LIFETIME_S)
        return token, now

    def caller(self, authorization: str | None) -> str | None:
        """The calling user's id for a valid bearer token; None when missing, unknown or expired."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        issued = self.tokens.get(authorization[7:].strip())
        if issued is None or issued.expires_at <= self.clock.now():
            return None
        return issued.user_id
