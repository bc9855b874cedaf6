"""Where each part of the emulator is served: listeners on loopback, or well-known hosts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The hosts apps are configured with for the real service; only the in-process transport
# answers for them, so no request to them ever leaves the process.
LOGIN_HOST = "https://login.microsoftonline.com"
GRAPH_HOST = "https://graph.microsoft.com"


@dataclass(frozen=True)
class Bases:
    """Origins (scheme://host[:port], no trailing slash) of the emulator's surfaces."""

    login: str  # discovery, token endpoint, keys, control API
    browser: str  # authorize, sign-in and consent pages, sign-out
    graph: str  # /v1.0
    downloads: str  # pre-authenticated download URLs
    # The pages behind Graph's webUrls: each real SharePoint or OneDrive origin
    # (https://contoso.sharepoint.com, ...) and the origin the emulator serves its pages at.
    web: dict[str, str] = field(default_factory=dict)

    @classmethod
    def listeners(cls, https_base: str, http_base: str, web_origins: Iterable[str] = ()) -> Bases:
        """Two loopback listeners: pages a browser visits on plain http, the rest on https."""
        return cls(
            login=https_base,
            browser=http_base,
            graph=https_base,
            downloads=http_base,
            web=dict.fromkeys(web_origins, http_base),
        )

    @classmethod
    def well_known(cls, sharepoint_host: str, web_origins: Iterable[str] = ()) -> Bases:
        """The real service's hosts, for the in-process transport (no listener at all)."""
        return cls(
            login=LOGIN_HOST,
            browser=LOGIN_HOST,
            graph=GRAPH_HOST,
            downloads=f"https://{sharepoint_host}",
            web={origin: origin for origin in web_origins},
        )

    def web_url(self, real_url: str) -> str:
        """A SharePoint or OneDrive URL as the emulator serves it (path and query kept)."""
        parts = urlsplit(real_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        served = self.web.get(origin, origin)
        return served + real_url[len(origin) :]

    def real_origins(self, served_origin: str) -> list[str]:
        """The SharePoint and OneDrive origins whose pages are served at SERVED_ORIGIN."""
        return [real for real, served in self.web.items() if served == served_origin]
