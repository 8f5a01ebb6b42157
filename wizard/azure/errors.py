"""One error type for everything Azure says no to, with ARM's code and a plain-language hint."""

from __future__ import annotations

from typing import Any

from ..text import for_terminal

# What an admin can do about the ARM codes this tool meets most.
HINTS = {
    "AuthorizationFailed": "Your account lacks this permission here. Ask an Owner or a User Access Administrator "
    "of the scope to grant it, or choose a scope where you hold it.",
    "LinkedAuthorizationFailed": "Linking an identity needs Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/"
    "action on the identity as well as write access to the app.",
    "RoleAssignmentExists": "An equal role assignment already exists under another name; nothing to do.",
    "PrincipalNotFound": "Entra ID has not replicated the new identity yet; retry in a minute.",
    "RoleDefinitionDoesNotExist": "No role with that name or ID is usable in this subscription.",
    "ResourceGroupNotFound": "Check the resource group's name and subscription.",
    "SubscriptionNotFound": "Check the subscription ID, and that your account can see it (`az account list`).",
    "MissingSubscriptionRegistration": "Register the resource provider: `az provider register --namespace ...`.",
    "SignInFailed": "Sign in with `az login` (add `--tenant` if you have several), or run with --device-code "
    "on a machine without a browser.",
    "Unreachable": "Check your network, proxy settings and the endpoint.",
    "UnsafeEndpoint": "runner-identity sends a token only to the endpoint it was minted for; nothing was sent.",
    "ContainerAppSecretInvalid": "A write sent a secret without its value; runner-identity never does this, so the "
    "app may have been changed by someone else meanwhile. Rerun the plan.",
    "InvalidAuthenticationToken": "The token was refused: sign in again (`az login`).",
    "ExpiredAuthenticationToken": "The sign-in expired: run `az login` again.",
    "TooManyRequests": "Azure is throttling requests; wait a minute and rerun.",
}
TRANSIENT = {408, 429, 500, 502, 503, 504}


class GatewayError(Exception):
    def __init__(self, what: str, code: str, message: str, status: int | None = None, detail: str = "") -> None:
        self.what = what
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail  # the SDK's whole message, when `message` is its first line
        super().__init__(self.plain())

    @property
    def hint(self) -> str:
        return HINTS.get(self.code, "")

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT or self.code == "Unreachable"

    def plain(self) -> str:
        """The error in words, safe to print: what Azure said (its message, a resource's or role's name)
        has its control characters escaped (`text.for_terminal`), line by line."""
        text = f"Could not {self.what}: {self.message or self.code}"
        if self.code and self.code not in text:
            text += f" ({self.code})"
        if self.hint:
            text += f"\n  {self.hint}"
        return "\n".join(for_terminal(line) for line in text.split("\n"))


def translate(exc: BaseException, what: str) -> GatewayError:
    """Turn whatever the SDK raised into a GatewayError that names the ARM code."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

    if isinstance(exc, GatewayError):
        return exc
    if getattr(exc, "runner_identity_code", None) == "ForeignHostRefused":  # connection._same_host_policy
        return GatewayError(what, "UnsafeEndpoint", _first_line(str(exc)), None)
    if isinstance(exc, ClientAuthenticationError) and not getattr(getattr(exc, "error", None), "code", None):
        # The credential failed before Resource Manager was asked (no session, an expired one, no
        # browser, a managed-identity endpoint that said no): ARM's own 401s carry an error code.
        return GatewayError(what, "SignInFailed", _first_line(exc.message), None, detail=exc.message or "")
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        error: Any = getattr(exc, "error", None)
        code = getattr(error, "code", None) or getattr(exc.response, "reason", None) or "Error"
        message = getattr(error, "message", None) or _first_line(exc.message)
        return GatewayError(what, str(code), str(message), exc.status_code)
    if isinstance(exc, AzureError):
        # Connection refused, dropped or timed out, after the SDK's own retries.
        return GatewayError(what, "Unreachable", _first_line(str(exc)), None)
    if isinstance(exc, OSError):
        return GatewayError(what, "Unreachable", _first_line(str(exc)), None)
    raise exc


def sign_in_paragraph(err: GatewayError, where: str, device_code: bool = False) -> str:
    """One short paragraph for a failed sign-in: what was tried, where (`where`: the cloud or
    endpoint and tenant, from Connection.describe), and the fix; safe to print (control characters
    escaped)."""
    tried = _attempted_credentials(err.detail or err.message)
    if device_code:
        what = "a device-code sign-in"
    elif tried:
        what = "DefaultAzureCredential (" + ", ".join(tried) + ")"
    else:
        what = "DefaultAzureCredential"
    detail = err.message if not tried else ""
    text = f"Sign-in failed for {where}: tried {what}."
    if detail:
        text += f" {detail.rstrip('.')}."
    if device_code:  # already the fallback for a machine without a browser: suggest what is left
        text += (
            " Fix: complete the code's sign-in in a browser within its time limit, with an account of the "
            "tenant (pass --tenant ID when your account is in several), or sign in with `az login` and run "
            "without --device-code."
        )
    else:
        text += (
            " Fix: run `az login` (with `--tenant ID` when your account is in several tenants) and try again, "
            "or pass --tenant ID, or --device-code on a machine without a browser."
        )
    return for_terminal(text)  # the credential's own words (the az CLI's stderr) may carry its colours


def _attempted_credentials(message: str) -> list[str]:
    """The credential names in DefaultAzureCredential's "Attempted credentials:" list, with the
    Azure CLI's own reason (the one most admins rely on)."""
    names = []
    for line in (message or "").splitlines():
        if not line.startswith("\t") or ":" not in line:
            continue
        name, _, reason = line.strip().partition(":")
        if not name.endswith("Credential"):
            continue
        if name == "AzureCliCredential":
            name += f": {reason.strip().rstrip('.')}"
        names.append(name)
    return names


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
