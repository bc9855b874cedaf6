"""Screenshots of every page at desktop and phone size, into test-artifacts/screens/.

Starts the emulator and the app on free ports (as the browser tests do), signs
in as the demo admin, Adele Vance, accepting each page's consent the first time
it is asked for, and saves NAME-desktop.png (1280x800) and NAME-phone.png
(390x844), full page, for every page. report.json beside them lists the files
and, for each phone page, its scrollWidth and innerWidth: a page wider than the
phone scrolls sideways (and makes a phone zoom out, so innerWidth grows too).

    .venv/bin/python scripts/screenshots.py [--out DIR]

Exits 1 when a page is wider than the phone (it would scroll sideways).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The browser tests' process helpers: the same emulator and app, started the same way.
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts"))  # the demo's Finance group, as it finds it

from demo_enterprise_env import finance_group_id  # noqa: E402
from entra_emulator.net import free_port  # noqa: E402
from flows import DEMO_USER, IDP_PAGE, pick_user  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from processes import App, EmulatorProcess, app_env  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-sync"]
CHROMIUM_FLAGS += ["--disable-background-networking", "--disable-component-update"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
DEFAULT_OUT = ROOT / "test-artifacts" / "screens"
CONSENT_ROUNDS = 3  # sign-in, then consent: no page needs more visits to the emulator


@dataclass(frozen=True)
class Shot:
    name: str
    # A path on the app; "link:Text" follows a link on the page before, "menu" opens the menu.
    path: str
    sizes: tuple[str, ...] = tuple(SIZES)


# After sign-in, in this order: a link is followed on the page of the shot before it.
SIGNED_IN_SHOTS = [
    Shot("home", "/"),
    Shot("profile", "/graphcall"),
    # The same page with its "How this page works" panel open (DEVELOPER_PANELS, as the demo).
    Shot("profile-panel", "panel"),
    Shot("people", "/people"),
    Shot("groups", "/groups"),
    Shot("group", "link:All Company"),
    # The phone's menu, open on a group's page: Groups is its current section.
    Shot("menu", "menu", sizes=("phone",)),
    Shot("directory", "/directory"),
    Shot("files", "/files/"),
    Shot("folder", "link:Documents"),
    Shot("search", "/search?q=report"),
    Shot("sites", "/sites"),
    Shot("site", "link:Marketing"),
    Shot("library", "link:Brand Assets"),
    Shot("reports", "/reports"),
    # Adele is not in Finance Approvers: the page that says which group it needs.
    Shot("finance", "/finance"),
    Shot("token-claims", "/token-claims"),
    # The redirect URI opened again while signed in (the Back button after sign-in).
    Shot("already-signed-in", "/getAToken"),
    # A group that is not there: Graph's 404, as a page that links back to the list.
    Shot("group-not-found", "/groups/00000000-0000-0000-0000-000000000000"),
    Shot("sign-out", "/logout"),
    Shot("not-found", "/no-such-page"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the PNGs go")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        report = take_screenshots(Path(tmp), out)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    phone = report["phone_width"]
    wide = {n: w for n, w in report["phone_widths"].items() if max(w.values()) > phone}
    seconds = time.monotonic() - started
    print(f"{len(report['screenshots'])} screenshots in {out} ({seconds:.0f} s)")
    if wide:
        print(f"wider than a phone ({phone} px): {wide}", file=sys.stderr)
        return 1
    return 0


def take_screenshots(tmp: Path, out: Path) -> dict:
    port = free_port()
    redirect_uris = [f"http://localhost:{port}/getAToken", f"http://localhost:{port}/"]
    emulator = EmulatorProcess(tmp / "emulator", redirect_uris, out / "emulator.log")
    try:
        # As the demo runs it: developer panels on, and the Finance page for its group.
        env = app_env(emulator, tmp) | {
            "DEVELOPER_PANELS": "true",
            "FINANCE_GROUP_ID": finance_group_id(),
        }
        app = App(port, env, out / "app.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                try:
                    return _browse(browser, app.url, out)
                finally:
                    browser.close()
        finally:
            app.stop()
    finally:
        emulator.stop()


def _browse(browser, app_url: str, out: Path) -> dict:
    desktop = browser.new_context(viewport=SIZES["desktop"])
    phone = browser.new_context(viewport=SIZES["phone"], is_mobile=True, has_touch=True)
    pages = {"desktop": desktop.new_page(), "phone": phone.new_page()}
    for page in pages.values():
        page.set_default_timeout(15_000)
    saved, widths = [], {}

    def save(page: Page, name: str, size: str) -> None:
        saved.append(f"{name}-{size}.png")
        width = _save(page, out / saved[-1])
        if size == "phone":
            widths[name] = width

    for size, page in pages.items():
        page.goto(app_url + "/")
        save(page, "home-signed-out", size)
    _sign_in(pages["desktop"], app_url)
    phone.add_cookies(desktop.cookies())
    for shot in SIGNED_IN_SHOTS:
        for size in shot.sizes:
            _open(pages[size], app_url, shot.path)
            save(pages[size], shot.name, size)
    desktop.close()
    phone.close()
    return {"screenshots": saved, "phone_width": SIZES["phone"]["width"], "phone_widths": widths}


def _sign_in(page: Page, app_url: str) -> None:
    page.get_by_role("link", name="Sign in").first.click()
    pick_user(page, DEMO_USER)
    _through_the_identity_provider(page, app_url)


def _open(page: Page, app_url: str, path: str) -> None:
    if path == "menu":
        page.get_by_text("Menu", exact=True).click()
        return
    if path == "panel":
        page.locator("details.how-it-works > summary").click()
        return
    if path.startswith("link:"):
        page.get_by_role("main").get_by_role("link", name=path[5:], exact=True).first.click()
    else:
        page.goto(app_url + path)
    page.wait_for_load_state()
    _through_the_identity_provider(page, app_url)


def _through_the_identity_provider(page: Page, app_url: str) -> None:
    """Accept the consent a page asks for (once per permission), back to the app."""
    for _ in range(CONSENT_ROUNDS):
        if not IDP_PAGE.match(page.url):
            return
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url(lambda url: not IDP_PAGE.match(url))
        page.wait_for_load_state()
    if IDP_PAGE.match(page.url):
        raise RuntimeError(f"still at the identity provider after {CONSENT_ROUNDS} consents")


def _save(page: Page, path: Path) -> dict[str, int]:
    """Save the full page once its images are in; return how wide the page is."""
    # Lazy images below the fold would be blank in a full-page shot.
    page.evaluate(
        "Promise.all([...document.images].map(img =>"
        " { img.loading = 'eager'; return img.decode().catch(() => null); }))"
    )
    page.screenshot(path=str(path), full_page=True)
    return page.evaluate(
        "({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth})"
    )


if __name__ == "__main__":
    sys.exit(main())
