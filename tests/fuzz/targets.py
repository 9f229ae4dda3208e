"""The fuzzed properties, shared by the pytest runs (hypothesis, a bounded budget inside
`make test`) and the coverage-guided runs (`python -m tests.fuzz.atheris_main`, atheris/libFuzzer).

The property is the same for every target: any input gives a valid result or FaceGate's own
error (`ImageError`, `ConfigError`: the tree in facegate/errors.py, each with a stable
`code`), never another exception, never a hang, and memory bounded by the limits the code
claims (the pixel limit for images). A bad input found here is a 500 in the server or a
traceback at the terminal, so each one becomes a regression test in test_imageio.py /
test_config.py once fixed.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from facegate.config import FaceGateConfig, load_config
from facegate.errors import ConfigError, ImageError, ImageTooLargeError
from facegate.imageio import load_image
from facegate.schema import read_mapping

#: The pixel limit the image target decodes under: small, so a header claiming more than it
#: must be refused before any pixel is decoded (the bounded-memory half of the property).
FUZZ_MAX_PIXELS = 2_000_000

#: A call slower than this is a hang (generous: the machine is shared and busy).
HANG_S = 10.0

REPO = Path(__file__).resolve().parents[2]


def fuzz_seconds() -> float:
    """`FACEGATE_FUZZ_SECONDS` per target: 0 (the default) is the short run of `make test`."""
    try:
        return max(0.0, float(os.environ.get("FACEGATE_FUZZ_SECONDS", "0")))
    except ValueError:
        return 0.0


class PropertyBroken(AssertionError):
    """An input made a target break the property; the message says how, the input is attached."""

    def __init__(self, what: str, data: bytes) -> None:
        super().__init__(f"{what} (input: {len(data)} bytes, starts {data[:48]!r})")
        self.data = data


# -- seeds --------------------------------------------------------------------------------


def _exif(orientation: object = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation  # type: ignore[assignment]
    return exif.tobytes()


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return struct.pack(">I", len(data)) + kind + data + crc


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height over a few bytes of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def jpeg_claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF0) saying width x height."""
    i = jpeg.find(b"\xff\xc0")
    if i < 0:
        return jpeg
    return jpeg[: i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9 :]


@cache
def image_seeds() -> tuple[bytes, ...]:
    """Real small images in every accepted format (and a few modes and EXIF orientations),
    plus the formats refused outright, so a mutation can start from either side."""
    from skimage import data

    rgb = Image.fromarray(data.astronaut()).resize((96, 96))
    out = []
    for fmt, kw in [
        ("JPEG", {"quality": 80}),
        ("JPEG", {"exif": _exif(6)}),
        ("JPEG", {"exif": _exif(8), "progressive": True}),
        ("PNG", {}),
        ("WEBP", {"quality": 60}),
        ("WEBP", {"lossless": True, "exif": _exif(3)}),
        ("BMP", {}),
        ("TIFF", {}),
        ("GIF", {}),
        ("PPM", {}),
    ]:
        buf = io.BytesIO()
        rgb.save(buf, fmt, **kw)
        out.append(buf.getvalue())
    for mode in ("L", "LA", "P", "RGBA", "I;16", "1"):
        buf = io.BytesIO()
        rgb.convert(mode).save(buf, "PNG")
        out.append(buf.getvalue())
    for mode in ("CMYK", "L"):
        buf = io.BytesIO()
        rgb.convert(mode).save(buf, "JPEG")
        out.append(buf.getvalue())
    out.append(png_claiming(30000, 30000))
    out.append(png_claiming(1, 1))
    out.append(jpeg_claiming(out[0], 65535, 65535))
    return tuple(out)


@cache
def config_seeds() -> tuple[str, ...]:
    """The shipped example, the defaults written out, and the YAML shapes that hurt parsers:
    aliases ("billion laughs"), deep nesting, tags, merge keys, dates."""
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    defaults = yaml.safe_dump(FaceGateConfig().model_dump(mode="json"), sort_keys=False)
    return (
        (REPO / "examples" / "entrance.yaml").read_text(),
        defaults,
        laughs + "engine: {recognizers: *i}\nserver: *i\n",
        "engine: " + "[" * 3000 + "]" * 3000 + "\n",
        "runtime: &r {access: *r, journal: {path: *r}}\n",
        "engine: {fmr: 2001-02-30, flip: !!int abc, model: !!binary '@@'}\n",
        "server: {<<: [{port: 1}, {port: 2}], host: !!python/name:os.system}\n",
        "? [complex, key]\n: 1\nengine: !!set {a, b}\n",
    )


# -- the targets ----------------------------------------------------------------------------


def check_image(data: bytes) -> None:
    """`load_image` on arbitrary bytes: a BGR uint8 array within the pixel limit, or ImageError."""
    t0 = time.perf_counter()
    try:
        img = load_image(data, max_pixels=FUZZ_MAX_PIXELS)
    except ImageTooLargeError as exc:
        if not str(exc) or exc.code != "image_too_large":
            raise PropertyBroken(f"ImageTooLargeError without message/code: {exc!r}", data) from exc
        img = None
    except ImageError as exc:
        if not str(exc) or exc.code != "bad_image":
            raise PropertyBroken(f"ImageError without message/code: {exc!r}", data) from exc
        img = None
    except Exception as exc:
        raise PropertyBroken(f"{type(exc).__name__} escaped load_image: {exc}", data) from exc
    took = time.perf_counter() - t0
    if took > HANG_S:
        raise PropertyBroken(f"load_image took {took:.1f} s", data)
    if img is not None:
        ok = (
            isinstance(img, np.ndarray)
            and img.dtype == np.uint8
            and img.ndim == 3
            and img.shape[2] == 3
            and img.shape[0] >= 8
            and img.shape[1] >= 8
            and img.shape[0] * img.shape[1] <= FUZZ_MAX_PIXELS
        )
        if not ok:
            raise PropertyBroken(f"bad decode: {type(img)} {getattr(img, 'shape', None)}", data)


def check_config_text(data: bytes, tmp_dir: Path) -> None:
    """`load_config` on a file holding arbitrary bytes: a config, or ConfigError."""
    path = tmp_dir / "fuzz.yaml"
    path.write_bytes(data)
    t0 = time.perf_counter()
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        if not str(exc) or exc.code != "config_error":
            raise PropertyBroken(f"ConfigError without message/code: {exc!r}", data) from exc
        cfg = None
    except Exception as exc:
        raise PropertyBroken(f"{type(exc).__name__} escaped load_config: {exc}", data) from exc
    took = time.perf_counter() - t0
    if took > HANG_S:
        raise PropertyBroken(f"load_config took {took:.1f} s", data)
    if cfg is not None and not isinstance(cfg, FaceGateConfig):
        raise PropertyBroken(f"load_config returned {type(cfg).__name__}", data)
    if cfg is None:
        return
    # What read_mapping accepted, validated again from the dict: the same answer.
    try:
        load_config(read_mapping(path))
    except Exception as exc:
        raise PropertyBroken(f"valid file, invalid dict: {exc!r}", data) from exc


def check_config_mapping(mapping: dict) -> None:
    """`load_config` on an arbitrary mapping (the dict path: the engine's and the tests' way in)."""
    t0 = time.perf_counter()
    try:
        load_config(mapping)
    except ConfigError as exc:
        if not str(exc) or exc.code != "config_error":
            raise PropertyBroken(f"ConfigError without message/code: {exc!r}", b"") from exc
    except Exception as exc:
        raise PropertyBroken(
            f"{type(exc).__name__} escaped load_config({mapping!r:.300}): {exc}", b""
        ) from exc
    took = time.perf_counter() - t0
    if took > HANG_S:
        raise PropertyBroken(f"load_config took {took:.1f} s on {mapping!r:.300}", b"")
