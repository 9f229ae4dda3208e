"""Fuzzing image decoding (`facegate.imageio.load_image`, what every upload and enrolment
photo goes through): real small images in each format, truncated, bit-flipped, with header
fields overwritten (dimensions, lengths) and with junk EXIF; and plain random bytes. Any of
them decodes to a BGR array within the pixel limit or raises ImageError (see targets.py)."""

from __future__ import annotations

import io

import pytest
from hypothesis import strategies as st
from PIL import Image

from tests.fuzz import budget
from tests.fuzz.targets import check_image, image_seeds, jpeg_claiming, png_claiming

# Pillow warns about corrupt EXIF and big headers: expected here, and thousands of them.
pytestmark = pytest.mark.filterwarnings("ignore")

#: Values that break length and dimension fields: zero, one, sign bits, all ones.
_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(image_seeds())))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        # Headers are where parsers decide sizes: half the edits land in the first 64 bytes.
        near = draw(st.booleans())
        pos = draw(st.integers(0, min(len(data), 64) - 1 if near else len(data) - 1))
        op = draw(st.sampled_from(["flip", "byte", "int", "cut", "drop", "dup"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif op == "int":
            width = draw(st.sampled_from([2, 4]))
            value = draw(st.sampled_from(_INTERESTING)) & ((1 << (8 * width)) - 1)
            order = draw(st.sampled_from(["big", "little"]))
            data[pos : pos + width] = value.to_bytes(width, order)
        elif op == "cut":
            del data[pos:]
        elif op == "drop":
            del data[pos : pos + draw(st.integers(1, 64))]
        else:
            end = pos + draw(st.integers(1, 256))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 8))
    return bytes(data)


@st.composite
def exif_junk(draw: st.DrawFn) -> bytes:
    """A valid small JPEG, PNG or WebP carrying an EXIF block of random tags and values."""
    exif = Image.Exif()
    value = st.one_of(
        st.integers(-(2**31), 2**32 - 1),
        st.text(max_size=20),
        st.binary(max_size=40),
        st.floats(allow_nan=True),
        st.tuples(st.integers(0, 2**16), st.integers(0, 2**16)),
    )
    tags = st.one_of(
        st.just(0x0112), st.sampled_from([0x8769, 0x8825, 0xA005]), st.integers(0, 0xFFFF)
    )
    for tag, v in draw(st.lists(st.tuples(tags, value), max_size=6)):
        exif[tag] = v
    try:
        raw = exif.tobytes()
    except Exception:  # Pillow cannot write this value: send random bytes as the block
        raw = b"Exif\x00\x00" + draw(st.binary(max_size=200))
    fmt = draw(st.sampled_from(["JPEG", "PNG", "WEBP"]))
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 120, 90)).save(buf, fmt, exif=raw)
    return buf.getvalue()


@st.composite
def claimed_sizes(draw: st.DrawFn) -> bytes:
    w, h = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        return png_claiming(w, h)
    return jpeg_claiming(image_seeds()[0], w & 0xFFFF, h & 0xFFFF)


def test_mutated_real_images() -> None:
    budget.run(check_image, mutated(), short_examples=300)


def test_junk_exif() -> None:
    budget.run(check_image, exif_junk(), short_examples=80)


def test_header_dimensions() -> None:
    budget.run(check_image, claimed_sizes(), short_examples=80)


def test_random_bytes() -> None:
    budget.run(check_image, st.binary(max_size=4096), short_examples=100)
