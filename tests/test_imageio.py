"""Decoding user files: every way a file can be bad gets its own clear error."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegate.errors import ImageError, ImageTooLargeError
from facegate.imageio import load_image, to_bgr


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but carries almost no data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_huge_image_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    with pytest.raises(ImageTooLargeError, match="too large"):
        load_image(path)
    path.write_bytes(png_header_only(9000, 6000))  # 54 MP: under Pillow's limit, over ours
    with pytest.raises(ImageTooLargeError, match="9000x6000"):
        load_image(path)


def test_truncated_jpeg(tmp_path: Path, hopper_path: Path) -> None:
    data = hopper_path.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="truncated"):
        load_image(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"hello, I am text\n" * 10, "not an image")],
)
def test_not_an_image(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        load_image(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    out = load_image(buf.getvalue())
    assert out.shape == (40, 20, 3)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_modes_decode_to_bgr(mode: str) -> None:
    img = Image.new("RGB", (16, 12), (10, 20, 200)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    out = load_image(buf.getvalue())
    assert out.shape == (12, 16, 3) and out.dtype == np.uint8


def test_colour_channels_are_bgr() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (255, 0, 0)).save(buf, "PNG")
    out = load_image(buf.getvalue())
    assert out[0, 0].tolist() == [0, 0, 255]


def test_to_bgr_accepts_gray_and_bgra() -> None:
    gray = np.full((10, 12), 100, np.uint8)
    assert to_bgr(gray).shape == (10, 12, 3)
    assert to_bgr(gray[..., None]).shape == (10, 12, 3)
    bgra = np.zeros((10, 12, 4), np.uint8)
    bgra[..., 2] = 255
    assert to_bgr(bgra)[0, 0].tolist() == [0, 0, 255]
    with pytest.raises(ImageError):
        to_bgr(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ImageError):
        to_bgr(np.zeros((0, 0, 3), np.uint8))


# -- found by tests/fuzz: each of these escaped load_image as a bare exception (a 500) -------


def test_truncated_png_header_is_an_image_error() -> None:
    ihdr = b"\x00\x00\x00\x05IHDR" + b"\x00" * 5  # an IHDR of 5 bytes, not 13
    data = b"\x89PNG\r\n\x1a\n" + ihdr + struct.pack(">I", zlib.crc32(ihdr[4:]))
    with pytest.raises(ImageError, match="cannot decode"):  # was ValueError
        load_image(data)


@pytest.mark.parametrize(
    "data",
    [
        b"P6\n64 64\n?55\n" + bytes(64 * 64 * 3),  # PPM: was ValueError from int()
        b"P6\n64 64\x00\x00\x00\x00" + bytes(64),  # PPM: was ValueError
        # TIFF, minimised from the fuzzer's finds: ValueError, then TypeError on load
        bytes.fromhex("49492a00080000000a00000102000100000000000000010104000100000000000000"),
        bytes.fromhex(
            "49492a00080000000900000104000100000040000000010104000100000040000000000000000000"
            "000000000000000000000000000000000000000000000000000000000000110102000100000000000000"
        ),
    ],
)
def test_formats_no_photo_comes_in_are_not_parsed(data: bytes) -> None:
    with pytest.raises(ImageError, match="unrecognised format; JPEG, PNG, WebP or BMP"):
        load_image(data)


@pytest.mark.parametrize("fmt", ["TIFF", "PPM", "GIF", "ICO"])
def test_only_photo_formats_are_decoded(fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buf, fmt)
    with pytest.raises(ImageError, match="unrecognised format"):
        load_image(buf.getvalue())
    for ok in ("JPEG", "PNG", "WEBP", "BMP"):
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (1, 2, 3)).save(buf, ok)
        assert load_image(buf.getvalue()).shape == (32, 32, 3)
