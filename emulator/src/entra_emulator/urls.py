"""Where each part of the emulator is served: listeners on loopback, or well-known hosts."""

from __future__ import annotations

from dataclasses import dataclass

# The hosts apps are configured with for the real service; only the in-process transport
# answers for them, so no request to them ever leaves the process.
LOGIN_HOST = "https://login.microsoftonline.com"
GRAPH_HOST = "https://graph.microsoft.com"


@dataclass(frozen=True)
class Bases:
    """Origins (scheme://host[:port], no trailing slash) of the emulator's four surfaces."""

    login: str  # discovery, token endpoint, keys, control API
    browser: str  # authorize, sign-in and consent pages, sign-out
    graph: str  # /v1.0
    downloads: str  # pre-authenticated download URLs

    @classmethod
    def listeners(cls, https_base: str, http_base: str) -> Bases:
        """Two loopback listeners: pages a browser visits on plain http, the rest on https."""
        return cls(login=https_base, browser=http_base, graph=https_base, downloads=http_base)

    @classmethod
    def well_known(cls, sharepoint_host: str) -> Bases:
        """The real service's hosts, for the in-process transport (no listener at all)."""
        return cls(
            login=LOGIN_HOST,
            browser=LOGIN_HOST,
            graph=GRAPH_HOST,
            downloads=f"https://{sharepoint_host}",
        )
