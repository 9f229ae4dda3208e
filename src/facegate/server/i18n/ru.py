"""Russian: English source string -> translation; plural entries are (1, 2-4, 5+) forms."""

from __future__ import annotations

RU: dict[str, str | tuple[str, str, str]] = {}
