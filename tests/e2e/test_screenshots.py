"""scripts/screenshots.py photographs every page, and no page is wider than a phone."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys

import pytest
from processes import ROOT

SCREENS = ROOT / "test-artifacts" / "screens"
PAGES = [
    "home-signed-out",
    "home",
    "profile",
    "profile-panel",
    "people",
    "groups",
    "group",
    "directory",
    "files",
    "folder",
    "search",
    "sites",
    "site",
    "library",
    "reports",
    "finance",
    "token-claims",
    "already-signed-in",
    "group-not-found",
    "sign-out",
    "not-found",
]
DESKTOP, PHONE = (1280, 800), (390, 844)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A blank page in the layout is over 10 kB; an empty or broken image is far smaller.
SMALLEST_REAL_SHOT = 10_000


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's header chunk (IHDR, right after the signature)."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# 25-80 s here on a shared 2-core machine, by its load: the default 120 s is too tight.
@pytest.mark.timeout(240)
def test_every_page_is_photographed_at_desktop_and_phone_size_and_fits_a_phone():
    shutil.rmtree(SCREENS, ignore_errors=True)  # no shot of an earlier run counts
    run = subprocess.run(
        [sys.executable, "scripts/screenshots.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert (SCREENS / "report.json").exists(), run.stderr[-2000:]
    report = json.loads((SCREENS / "report.json").read_text())

    for name in PAGES:
        for suffix, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
            data = (SCREENS / f"{name}-{suffix}.png").read_bytes()
            assert len(data) > SMALLEST_REAL_SHOT, f"{name}-{suffix}.png is nearly empty"
            shot_width, shot_height = png_size(data)
            # Full-page shots: the screen's width, at least the screen's height.
            assert shot_width == width and shot_height >= height, f"{name}-{suffix}.png"
    # The phone's menu, opened on a group's page.
    assert png_size((SCREENS / "menu-phone.png").read_bytes())[0] == PHONE[0]

    too_wide = {
        name: widths
        for name, widths in report["phone_widths"].items()
        if not widths["scrollWidth"] <= widths["innerWidth"] == PHONE[0]
    }
    assert sorted(report["phone_widths"]) == sorted([*PAGES, "menu"])
    assert not too_wide, f"pages that scroll sideways on a phone: {too_wide}"
    assert run.returncode == 0, run.stderr[-2000:]
