"""Bearer tokens the sandbox issues and checks.

They are JWTs (HS256 under a key that lives only in the sandbox process, made and read with PyJWT) so
tools that peek at `tid`/`oid` see what they would see from Entra ID, and a token from anywhere else fails
the signature check like a foreign token fails at ARM. The validity window is checked as Entra ID's tokens
are: `exp` and `nbf` required with five minutes of clock skew, `iat` not in the future.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

TOKEN_LIFETIME_S = 3600
# Entra ID and the services that validate its tokens allow five minutes of clock skew.
CLOCK_SKEW_S = 300


class ExpiredTokenError(ValueError):
    pass


class TokenIssuer:
    def __init__(self, tenant_id: str, key: bytes | None = None) -> None:
        self.tenant_id = tenant_id
        self._key = key or secrets.token_bytes(32)

    def issue(
        self,
        audience: str,
        object_id: str,
        app_id: str,
        now: float | None = None,
        upn: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        """A signed token and its expiry (epoch seconds). `extra` sets claims, None removing one: tests
        make tokens outside their validity window with it."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": issued,
            "nbf": issued,
            "exp": issued + TOKEN_LIFETIME_S,
            "tid": self.tenant_id,
            "oid": object_id,
            "appid": app_id,
            "idtyp": "user" if upn else "app",
            "ver": "1.0",
        }
        if upn:
            claims["upn"] = upn
        for key, value in (extra or {}).items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        return jwt.encode(claims, self._key, algorithm="HS256"), int(claims.get("exp") or 0)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ValueError (ExpiredTokenError past `exp`) naming why ARM would refuse it.
        The audience is left to the caller, which knows the cloud it presents."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "nbf", "iat"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ExpiredTokenError(
                "The access token expiry UTC time is earlier than current UTC time."
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise ValueError("The access token is not yet valid.") from exc
        except jwt.InvalidSignatureError as exc:
            raise ValueError("The access token signature is invalid: it was not issued for this endpoint.") from exc
        except jwt.InvalidTokenError as exc:
            raise ValueError(f"The access token is invalid: {exc}.") from exc
        if claims.get("tid") != self.tenant_id:
            raise ValueError(f"The access token is from the wrong issuer '{claims.get('iss')}'.")
        return claims
