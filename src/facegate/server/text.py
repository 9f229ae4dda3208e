"""Text from people shown to other people: names may carry bidirectional control characters.

A name such as "\u202eevil" is stored as typed by whoever entered it and shown by a
browser reversed (and everything after it on the line with it), so a resident's or
user's name could disguise itself in the dashboard, the event log or an export. New names
with these characters are refused at validation (`schemas`); names stored before that, and
names the runtime journalled, are neutralised wherever they are rendered (`strip_bidi`).
"""

from __future__ import annotations

import re

# embeddings and overrides (LRE, RLE, PDF, LRO, RLO), isolates (LRI, RLI, FSI, PDI), marks
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def has_bidi(text: str) -> bool:
    return BIDI_CONTROLS.search(text) is not None


def strip_bidi(text: str) -> str:
    return BIDI_CONTROLS.sub("", text)


def refuse_bidi(text: str) -> str:
    """A pydantic validator: a name must read the same in every direction it is shown."""
    if has_bidi(text):
        raise ValueError(
            "must not contain bidirectional control characters (U+202A-U+202E, "
            "U+2066-U+2069, U+200E, U+200F): they make a name display differently from what "
            "it is"
        )
    return text
