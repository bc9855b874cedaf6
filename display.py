"""How values read on a page, the same on every page: file sizes."""

from __future__ import annotations

SIZE_UNITS = ("kB", "MB", "GB", "TB")


def file_size(size: int) -> str:
    """'612 bytes', '48.2 kB', '2.2 MB': decimal units, as OneDrive shows them."""
    if size < 1000:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = size / 1000
    for unit in SIZE_UNITS[:-1]:
        # 999,960 bytes read "1.0 MB", not "1000.0 kB".
        if value < 999.95:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} {SIZE_UNITS[-1]}"
