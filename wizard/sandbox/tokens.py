"""Bearer tokens the sandbox issues and checks.

They are JWT-shaped (header.claims.signature, HS256 under a key that lives only in the
sandbox process) so tools that peek at `tid`/`oid` see what they would see from Entra ID,
and a token from anywhere else fails the signature check like a foreign token fails at ARM.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

TOKEN_LIFETIME_S = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, tenant_id: str, key: bytes | None = None) -> None:
        self.tenant_id = tenant_id
        self._key = key or secrets.token_bytes(32)

    def issue(
        self, audience: str, object_id: str, app_id: str, now: float | None = None, upn: str | None = None
    ) -> tuple[str, int]:
        issued = int(now if now is not None else time.time())
        claims = {
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
        header = {"alg": "HS256", "typ": "JWT"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}", claims["exp"]

    def verify(self, token: str, now: float | None = None) -> dict[str, Any]:
        """The token's claims, or ValueError naming why ARM would refuse it."""
        try:
            header_b64, claims_b64, sig_b64 = token.split(".")
        except ValueError as exc:
            raise ValueError("The access token is not a well-formed JWT.") from exc
        expected = hmac.new(self._key, f"{header_b64}.{claims_b64}".encode("ascii"), hashlib.sha256).digest()
        try:
            given = _unb64(sig_b64)
            claims = json.loads(_unb64(claims_b64))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("The access token is not a well-formed JWT.") from exc
        if not hmac.compare_digest(expected, given):
            raise ValueError("The access token signature is invalid: it was not issued for this endpoint.")
        if claims.get("tid") != self.tenant_id:
            raise ValueError(f"The access token is from the wrong issuer '{claims.get('iss')}'.")
        if claims.get("exp", 0) < (now if now is not None else time.time()):
            raise ExpiredTokenError("The access token expiry UTC time is earlier than current UTC time.")
        return claims


class ExpiredTokenError(ValueError):
    pass
