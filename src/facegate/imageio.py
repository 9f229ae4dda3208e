"""Decode images safely: size check before decoding, EXIF orientation applied, always BGR uint8.

Files come from users (enrolment photos, uploads), so every way a file can be bad has a
named error. The pixel-count check reads only the header, so a 30000x30000 bomb is refused
before a byte of pixel data is decoded. Only the formats a photo comes in are parsed
(`FORMATS`): each other Pillow plugin (PPM, TIFF, ICO, PSD, EPS, ...) is parser code an
upload could reach for no benefit.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facegate.errors import ImageError, ImageTooLargeError

#: 40 megapixels: bigger than any phone photo, far below what would exhaust an edge device.
DEFAULT_MAX_PIXELS = 40_000_000

#: What cameras, phones and the rest of FaceGate (`sources.IMAGE_SUFFIXES`) produce (Pillow's
#: JPEG opener also reads the multi-picture JPEGs some phones write).
FORMATS = ("JPEG", "PNG", "WEBP", "BMP")


def load_image(
    source: str | os.PathLike[str] | bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Read a file path or encoded bytes into a BGR uint8 array (H, W, 3)."""
    name = "upload" if isinstance(source, bytes) else str(source)
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ImageError(f"{name}: file not found") from None
        except IsADirectoryError:
            raise ImageError(f"{name}: is a directory, not an image file") from None
        except OSError as exc:
            raise ImageError(f"{name}: cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise ImageError(f"{name}: file is empty")
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageError(
            f"{name}: not an image (unrecognised format; JPEG, PNG, WebP or BMP)"
        ) from None
    except Image.DecompressionBombError as exc:  # Pillow's own limit, far above ours
        raise ImageTooLargeError(f"{name}: image is too large to decode ({exc})") from None
    except Exception as exc:  # any parser failure, see _decode
        raise ImageError(f"{name}: cannot decode image header ({_why(exc)})") from None
    width, height = img.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name}: image is {width}x{height} = {width * height / 1e6:.0f} MP, "
            f"above the {max_pixels / 1e6:.0f} MP limit; scale it down first"
        )
    if width < 8 or height < 8:
        raise ImageError(f"{name}: image is only {width}x{height} pixels")
    try:
        return _decode(img)
    except Image.DecompressionBombError:
        raise ImageTooLargeError(f"{name}: image is too large to decode safely") from None
    except MemoryError:
        raise ImageTooLargeError(f"{name}: not enough memory to decode this image") from None
    except Exception as exc:  # any parser failure, see _decode
        raise ImageError(f"{name}: truncated or corrupt image data ({_why(exc)})") from None


def _decode(img: Image.Image) -> np.ndarray:
    """Pixels, upright, as BGR. Pillow's parsers raise whatever the corrupt bytes lead them
    into, not only OSError: fuzzing (tests/fuzz) found ValueError, TypeError, OverflowError
    and SyntaxError from the header alone, and EXIF junk reaches `exif_transpose`. For bytes
    from a user each of them means one thing, a file that is not a usable image, so the
    caller turns any of them into `ImageError` (a 4xx, never a 500)."""
    img.load()
    img = ImageOps.exif_transpose(img)
    return pil_to_bgr(img)


def _why(exc: BaseException) -> str:
    """A parser's complaint, short: some quote the bytes they choked on."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def pil_to_bgr(img: Image.Image) -> np.ndarray:
    if img.mode in ("L", "I;16", "I", "F"):
        arr = np.asarray(img.convert("L"))
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if img.mode in ("RGBA", "LA", "P", "PA"):
        arr = np.asarray(img.convert("RGBA"))
        return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGR)
    arr = np.asarray(img.convert("RGB"))
    return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Accept gray (H,W) / (H,W,1), BGR and BGRA uint8 arrays; return contiguous BGR."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy image array, got {type(image).__name__}")
    if image.size == 0:
        raise ImageError("image array is empty")
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.max(initial=0) <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise ImageError(f"unsupported image shape {image.shape}: expected gray, BGR or BGRA")
