"""Route modules, one per Azure resource provider. Importing this package registers them all.

The generic resource routes come last so that a provider's own routes win the match.
"""

from . import (  # noqa: F401
    authorization,
    container_apps,
    identity_endpoint,
    managed_identity,
    resources,
    tags,
)
