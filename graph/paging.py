"""Previous and Next through a Graph collection, whose next links only go forward.

A list's position travels in the page's URL as one `cursor` value: the page number and
the client's cursors (Graph's next links, each signed by the client for its collection)
that fetch this page and a few before it, so Previous needs neither a Graph call nor a
session. Only the client's own cursors reach Graph, and the client checks each against
the collection, so carrying several adds no way to call another path. The oldest are
dropped to keep a page's URL short (it must also fit /login's `next`); a page whose
previous cursor was dropped links to the first page instead.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = "~"  # in neither the client's cursors (URL-safe base64 and ".") nor digits
# Well under /login's 1,024-character `next`, with room for the path and the query.
MAX_POSITION_LENGTH = 700
MAX_PAGE_NUMBER = 100_000


class BadPosition(ValueError):
    """A `cursor` value this app did not make."""


@dataclass(frozen=True)
class Position:
    """Which page of a list: its number, and the cursors of it and the pages before it."""

    number: int = 1
    # The last one fetches this page; page 1 has none.
    cursors: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str | None) -> Position:
        if not value:
            return cls()
        if SEPARATOR not in value:
            return cls(2, (value,))  # a "More" link from before pages had numbers
        number, _, rest = value.partition(SEPARATOR)
        cursors = tuple(rest.split(SEPARATOR)) if rest else ()
        if not (number.isascii() and number.isdecimal() and len(number) <= 6):
            raise BadPosition("not a page position")
        page = int(number)
        if not cursors or not all(cursors) or not len(cursors) < page <= MAX_PAGE_NUMBER:
            raise BadPosition("not a page position")
        return cls(page, cursors)

    def encode(self) -> str | None:
        """The URL value for this position (None for the first page)."""
        if not self.cursors:
            return None
        cursors = self.cursors
        while len(cursors) > 1 and _length(self.number, cursors) > MAX_POSITION_LENGTH:
            cursors = cursors[1:]
        return SEPARATOR.join((str(self.number), *cursors))

    def forward(self, next_cursor: str) -> Position:
        return Position(self.number + 1, (*self.cursors, next_cursor))

    def back(self) -> Position:
        """The page before; without a cursor for it, the first page."""
        cursors = self.cursors[:-1]
        return Position(self.number - 1 if cursors else 1, cursors)


def _length(number: int, cursors: tuple[str, ...]) -> int:
    return len(str(number)) + sum(len(c) + 1 for c in cursors)
