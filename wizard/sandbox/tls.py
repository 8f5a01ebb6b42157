"""A loopback certificate authority, made fresh for each sandbox process.

Clients trust it through the `ca_bundle` path the sandbox announces (for the Azure SDK:
`connection_verify=ca_bundle`), never through a global setting.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass
class LoopbackTLS:
    directory: Path
    ca_bundle: Path
    server_context: ssl.SSLContext


def make_loopback_tls(directory: Path | None = None) -> LoopbackTLS:
    where = directory or Path(tempfile.mkdtemp(prefix="runner-identity-sandbox-"))
    where.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="runner-identity sandbox")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_bundle = where / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return LoopbackTLS(where, ca_bundle, context)
