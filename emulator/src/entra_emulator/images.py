"""Profile photos and the favicon, drawn with Pillow: a person's initials on their colour.

Initials follow Fluent UI's rule (first letters of the first and last words, bracketed
parts dropped); a name with none to draw (CJK, say, or letters no font here has) gets a
head-and-shoulders silhouette instead, as Microsoft's own persona does.
"""

from __future__ import annotations

import functools
import io
import re

from PIL import Image, ImageDraw, ImageFont

# Graph's HD photo sizes (profilephoto-get); the emulator's "uploaded" photos are the largest.
PHOTO_SIZES = (48, 64, 96, 120, 240, 360, 432, 504, 648)
LARGEST_PHOTO = PHOTO_SIZES[-1]
# Fluent UI's persona colours: white reads on every one of them.
PALETTE = (
    "#0078d4", "#a4262c", "#498205", "#5c2e91", "#ca5010", "#038387", "#881798", "#8e562e",
    "#004e8c", "#c239b3", "#0b6a0b", "#d13438", "#4f6bed", "#986f0b", "#005b70", "#e3008c",
    "#750b1c", "#7a7574", "#8764b8", "#69797e",
)  # fmt: skip
FAVICON_COLOUR = "#0067b8"
# Bold faces found on most systems (Linux, macOS, Windows), then Pillow's own face.
FONT_FILES = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")


def initials(display_name: str) -> str:
    """Initials as Fluent UI takes them: "Adele Vance" -> "AV", "Ellis Moreau (Fabrikam)" ->
    "EM"; none ("") for scripts without letter case, such as CJK, as Fluent UI does."""
    words = _BRACKETED.sub(" ", display_name).split()
    letters = [w[0] for w in words if w[0].isalpha()]
    if not letters:
        return ""
    picked = (letters[0] + letters[-1]) if len(letters) > 1 else letters[0]
    return picked.upper() if all(c.upper() != c.lower() for c in picked) else ""


def colour_for(position: int) -> str:
    """The colour of the POSITION-th account: no two of any 20 in a row share one."""
    return PALETTE[position % len(PALETTE)]


@functools.lru_cache(maxsize=512)
def photo_png(display_name: str, colour: str, size: int = LARGEST_PHOTO) -> bytes:
    """A SIZE x SIZE PNG portrait: initials on COLOUR, or a silhouette where there are none."""
    scale = 4 if size <= 256 else 2  # drawn large, then scaled down: smooth edges
    canvas = Image.new("RGB", (size * scale, size * scale), colour)
    draw = ImageDraw.Draw(canvas)
    text = initials(display_name)
    font = _font_for(text, int(size * scale * 0.38)) if text else None
    if font is None:
        _silhouette(draw, size * scale)
    else:
        _centred_text(draw, text, font, size * scale)
    return _png(canvas.resize((size, size), Image.Resampling.LANCZOS))


@functools.lru_cache(maxsize=1)
def favicon_ico() -> bytes:
    """The emulator's favicon: a white silhouette on its blue, 16, 32 and 48 pixels."""
    side = 256
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, side - 1, side - 1), radius=48, fill=255)
    icon = Image.new("RGBA", (side, side), FAVICON_COLOUR)
    _silhouette(ImageDraw.Draw(icon), side)
    icon.putalpha(mask)
    out = io.BytesIO()
    icon.save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return out.getvalue()


def _silhouette(draw: ImageDraw.ImageDraw, side: int) -> None:
    head = side * 0.19
    cx, cy = side / 2, side * 0.39
    draw.ellipse((cx - head, cy - head, cx + head, cy + head), fill="white")
    draw.ellipse((side * 0.17, side * 0.66, side * 0.83, side * 1.3), fill="white")  # shoulders


def _centred_text(draw: ImageDraw.ImageDraw, text: str, font, side: int) -> None:
    """Centred across, and on the capitals' height down, so accents do not push it lower."""
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    _, top, _, bottom = draw.textbbox((0, 0), "H", font=font)
    origin = ((side - (right - left)) / 2 - left, (side - (bottom - top)) / 2 - top)
    draw.text(origin, text, font=font, fill="white")


@functools.lru_cache(maxsize=64)
def _fonts(pixels: int) -> tuple:
    found = []
    for name in FONT_FILES:
        try:
            found.append(ImageFont.truetype(name, pixels))
        except OSError:
            continue  # not installed here
    found.append(ImageFont.load_default(size=pixels))  # Pillow's own face: ASCII only
    return tuple(found)


def _font_for(text: str, pixels: int):
    """The first font that has a glyph for every letter of TEXT, or None."""
    for font in _fonts(pixels):
        missing = _glyph(font, "\U0010fffd")  # how this font draws a letter it does not have
        if all(_glyph(font, c) != missing for c in text):
            return font
    return None


def _glyph(font, letter: str) -> tuple:
    mask = font.getmask(letter)
    return mask.size, bytes(mask)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
