"""How the pages read: home tiles, the current section, icons, sizes and dates."""

from __future__ import annotations

import re

import pytest

from display import file_size

# The delegated permission each page needs, as README's table of pages says.
PAGES = {
    "/graphcall": ("Profile", "User.Read"),
    "/people": ("People", "User.ReadBasic.All"),
    "/groups": ("Groups", "Group.Read.All"),
    "/directory": ("Directory", "Directory.AccessAsUser.All"),
    "/files/": ("My files", "Files.Read"),
    "/search": ("File search", "Files.Read.All"),
    "/sites": ("Sites", "Sites.Read.All"),
    # Adele has the app role; Finance is off unless FINANCE_GROUP_ID names its group.
    "/reports": ("Reports", "User.Read"),
}
TILE = re.compile(r'<a class="tile" href="([^"]+)">(.*?)</a>', re.S)
IMAGE = re.compile(r'<img [^>]*src="([^"]+)"')


@pytest.fixture
def adele(signed_in_client, emulator_graph):
    """Adele, signed in, with every page's permission granted, reading the emulator's Graph."""
    scopes = [scope for _, scope in PAGES.values() if scope != "User.Read"]
    emulator_graph.grant_consent("adele@contoso.example", scopes)
    return signed_in_client


def tiles(page: str) -> dict[str, str]:
    return dict(TILE.findall(page))


def current_nav_links(page: str) -> list[str]:
    nav = page[page.index('aria-label="Main"') : page.index("</nav>")]
    return re.findall(r'<a href="([^"]+)" aria-current="[^"]+"', nav)


@pytest.mark.parametrize("who", ["visitor", "adele"])
def test_home_has_a_tile_per_page_saying_what_it_shows_and_the_permission_it_needs(
    who, client, request
):
    browser = request.getfixturevalue("adele") if who == "adele" else client
    found = tiles(browser.get("/").get_data(as_text=True))
    assert list(found) == list(PAGES)
    for path, (label, scope) in PAGES.items():
        tile = found[path]
        assert f'<span class="tile-title">{label}</span>' in tile
        assert re.search(r'<span class="tile-summary">\w[^<]{10,}\.</span>', tile), path
        assert f"Needs <code>{scope}</code>" in tile


def test_every_icon_on_the_home_page_is_an_svg_served_by_the_app(adele):
    sources = IMAGE.findall(adele.get("/").get_data(as_text=True))
    icons = [src for src in sources if src.startswith("/static/icons/")]
    assert len(set(icons)) >= len(PAGES)  # one per tile, and the phone's menu
    for src in set(sources):
        response = adele.get(src)
        response.close()  # a static file's response holds the file open until closed
        assert response.status_code == 200, src
        assert response.mimetype == "image/svg+xml", src


@pytest.mark.parametrize(
    ("list_page", "detail_link", "section"),
    [
        ("/groups", "All Company", "/groups"),
        ("/sites", "Marketing", "/sites"),
        ("/files/", "Documents", "/files/"),
    ],
)
def test_a_detail_page_shows_its_section_as_current_in_the_navigation(
    adele, list_page, detail_link, section
):
    listing = adele.get(list_page).get_data(as_text=True)
    assert current_nav_links(listing) == [section]
    (href,) = re.findall(rf'<a href="([^"]+)">(?:<strong>)?{detail_link}<', listing)
    detail = adele.get(href).get_data(as_text=True)
    assert current_nav_links(detail) == [section]


def test_no_section_is_current_on_a_page_outside_the_navigation(adele):
    page = adele.get("/no-such-page").get_data(as_text=True)
    assert current_nav_links(page) == []


def test_folders_have_an_icon_instead_of_a_trailing_slash_and_dates_do_not_break(adele):
    page = adele.get("/files/").get_data(as_text=True)
    assert ">Documents</a>" in page and ">Documents/<" not in page
    assert page.count('alt="Folder"') == 2  # Documents and Pictures
    assert "612 bytes" in page  # Welcome to OneDrive.txt
    assert '<time datetime="2024-01-15 10:00">2024-01-15 10:00</time>' in page


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (48_213, "48.2 kB"),
        (999_949, "999.9 kB"),
        (999_960, "1.0 MB"),
        (2_201_123, "2.2 MB"),
        (3 * 10**9, "3.0 GB"),
        (5 * 10**15, "5000.0 TB"),
    ],
)
def test_file_sizes_read_in_one_style(size, shown):
    assert file_size(size) == shown


def test_an_unknown_address_is_a_404_in_our_words_with_a_way_home(client):
    page = client.get("/no-such-page")
    text = page.get_data(as_text=True)
    assert page.status_code == 404
    assert "There is no page at this address" in text
    assert "check your spelling" not in text  # werkzeug's wording, not ours
    assert 'href="/"' in text
