"""Profile photos: PNG portraits that look like people, at Graph's sizes, 404 where none."""

from __future__ import annotations

import io

import pytest
from emulator_helpers import TIMEOUT, inprocess_token
from PIL import Image  # the emulator's own dependency

PATTI = "patti@contoso.example"
GRAPH_SIZES = [48, 64, 96, 120, 240, 360, 432, 504, 648]  # profilephoto-get
WHITE = (255, 255, 255)


@pytest.fixture
def graph(emulator):
    """GET a Graph path as Patti (User.ReadBasic.All: other people's photos too)."""
    token = inprocess_token(emulator, ["User.Read", "User.ReadBasic.All"], PATTI)
    http = emulator.http_client()
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str):
        return http.get(emulator.graph_endpoint + path, headers=headers, timeout=TIMEOUT)

    return get


def _image(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    return image.convert("RGB")


def test_my_photo_is_a_png_at_graphs_largest_size_and_its_metadata_agrees(graph):
    image = _image(graph("/me/photo/$value"))
    assert image.size == (648, 648)
    metadata = graph("/me/photo").json()
    assert (metadata["id"], metadata["width"], metadata["height"]) == ("648X648", 648, 648)
    assert metadata["@odata.mediaContentType"] == "image/png"


def test_initials_are_drawn_white_and_smooth_on_the_persons_colour(graph):
    image = _image(graph("/me/photo/$value"))
    colours = image.getcolors(maxcolors=648 * 648)
    background = image.getpixel((5, 5))
    assert background != WHITE
    assert WHITE in {colour for _, colour in colours}  # the letters
    assert len(colours) > 20  # edges blend letter into background: anti-aliased
    # A picture, not a flat square: the letters cover a fair part of the middle.
    middle = image.crop((162, 162, 486, 486)).getcolors(maxcolors=324 * 324)
    white_share = sum(n for n, colour in middle if colour == WHITE) / (324 * 324)
    assert 0.05 < white_share < 0.6


def test_every_person_with_a_photo_has_their_own_colour(graph):
    users = graph("/users?$top=999").json()["value"]
    backgrounds = {}
    for user in users:
        response = graph(f"/users/{user['id']}/photo/$value")
        if response.status_code == 404:
            continue
        backgrounds[user["displayName"]] = _image(response).getpixel((2, 2))
    assert len(backgrounds) >= 10
    assert len(set(backgrounds.values())) == len(backgrounds), backgrounds


def test_a_name_without_initials_to_draw_gets_a_silhouette(graph):
    users = graph("/users?$top=999").json()["value"]
    aiko = next(u for u in users if u["userPrincipalName"] == "aiko@contoso.example")
    image = _image(graph(f"/users/{aiko['id']}/photo/$value"))
    top_of_head, shoulders, corner = (324, 160), (324, 600), (5, 5)
    assert image.getpixel(top_of_head) == image.getpixel(shoulders) == WHITE
    assert image.getpixel(corner) != WHITE


@pytest.mark.parametrize("size", GRAPH_SIZES)
def test_each_of_graphs_sizes_is_served(graph, size):
    assert _image(graph(f"/me/photos/{size}x{size}/$value")).size == (size, size)


def test_sizes_are_case_blind_and_work_for_other_users(graph):
    users = graph("/users?$top=999").json()["value"]
    adele = next(u for u in users if u["userPrincipalName"] == "adele@contoso.example")
    assert _image(graph(f"/users/{adele['id']}/photos/96X96/$value")).size == (96, 96)


@pytest.mark.parametrize("size", ["100x100", "48x64", "0x0", "x", "648"])
def test_a_size_graph_does_not_have_is_image_not_found(graph, size):
    response = graph(f"/me/photos/{size}/$value")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ImageNotFound"


def test_people_without_a_photo_still_get_404_at_every_size(graph):
    users = graph("/users?$top=999").json()["value"]
    grady = next(u for u in users if u["userPrincipalName"] == "grady@contoso.example")
    for path in ("/photo/$value", "/photos/48x48/$value"):
        response = graph(f"/users/{grady['id']}{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "ImageNotFound"


def test_a_persons_photo_is_the_same_every_time(graph):
    assert graph("/me/photo/$value").content == graph("/me/photo/$value").content
