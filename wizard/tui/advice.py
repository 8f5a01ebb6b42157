"""Plain words for a failed sign-in: what happened, and the one thing to do about it.

The Azure SDK's credentials explain a failure in their own terms (which credential classes were
tried, their internal states); an admin needs to know whether they are signed in at all, and how
to sign in. The advice depends on how the wizard signs in: never suggest --device-code to
someone who is using it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..azure.errors import GatewayError

_AADSTS = re.compile(r"(AADSTS\d+)[:\s]+([^.\r\n]*)")
_CREDENTIAL_NAMES = re.compile(r"\b[A-Z]\w*Credential\b[:.]?\s*")


def what_failed(message: str) -> str:
    """The SDK's message about a failed sign-in, said without its class names."""
    text = " ".join(message.split())
    lowered = text.lower()
    found = _AADSTS.search(text)
    if found:
        return f"Microsoft Entra ID refused it ({found.group(1)}: {found.group(2).strip()})"
    if "failed to retrieve a token from the included credentials" in lowered or not text:
        return "no Azure sign-in was found here (no `az login` session, no credentials in the environment)"
    if "expired" in lowered or "timed out" in lowered or "timeout" in lowered:
        return "the sign-in was not finished in time"
    if "managedidentity" in lowered.replace(" ", ""):
        return "no managed identity answered on this machine"
    plain = _CREDENTIAL_NAMES.sub("", text).strip(" .:")
    return f"Azure said: {plain}" if plain else "no Azure sign-in was found here"


def sign_in_problem(err: GatewayError, *, device_code: bool) -> str:
    """What went wrong in signing in, and what to do, for the sign-in screen (plain text).

    `device_code`: the wizard signs in with a device code (--device-code), so the advice is about
    entering the code, never about switching to it.
    """
    if err.code == "SignInFailed":
        lines = [f"Could not sign in: {what_failed(err.message)}."]
        if device_code:
            lines.append(
                "Try again for a new code, open the address shown and enter the code there within a few "
                "minutes, with an account of the runner's tenant (--tenant ID names another tenant)."
            )
        else:
            lines.append("Run `az login` in another terminal (add `--tenant ID` if you have several), then Try again.")
            lines.append("No browser on this machine (SSH)? Start `runner-identity --device-code` instead.")
        return "\n".join(lines)
    if err.code == "Unreachable":
        return (
            f"Could not reach Azure: {err.message or 'no answer'}.\n"
            "Check the network and any proxy (HTTPS_PROXY), then Try again."
        )
    return err.plain()
