"""The journal's best-shot JPEGs on disk: one file per event under `YYYY/MM/DD/`.

Why it is built this way: a snapshot is a face, so each file is sealed by the `Vault`
(when the journal has one) and is 0600 in 0700 folders whatever the umask; it is written to
a temporary file, fsynced and renamed into place, so a crash never leaves half a picture
under the name a row points at.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from pathlib import Path

import cv2
import numpy as np

from facegate.private import FILE_MODE, private_dir, write_private
from facegate.vault import Vault

log = logging.getLogger(__name__)

#: Files in the snapshot folder without a row are only swept once this old: a concurrent
#: `record()` writes its JPEG a moment before it inserts the row that claims it.
ORPHAN_GRACE_S = 600.0


def fsync_dir(path: Path) -> None:
    """Make a create/rename/unlink in `path` durable (the directory entry is data too)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class SnapshotStore:
    def __init__(self, folder: Path, vault: Vault | None, jpeg_quality: int) -> None:
        self.dir, self.vault, self.jpeg_quality = folder, vault, jpeg_quality

    def write(self, image: np.ndarray, when: float) -> str:
        """Encode, seal and place the JPEG atomically; returns its path relative to the
        folder. Raises OSError (disk full, folder unusable) or ValueError (not an image)."""
        if not isinstance(image, np.ndarray) or image.size == 0:
            raise ValueError("snapshot is not a non-empty image array")
        try:
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        except cv2.error as exc:
            raise ValueError(f"cannot encode snapshot {image.shape} {image.dtype}: {exc}") from None
        if not ok:
            raise ValueError(f"cannot encode snapshot {image.shape} {image.dtype}")
        data = buf.tobytes()
        if self.vault is not None:
            data = self.vault.seal(data)
        day = time.strftime("%Y/%m/%d", time.gmtime(when))  # UTC: no DST gaps or repeats
        rel = f"{day}/{uuid.uuid4().hex}.jpg"
        final = self.dir / rel
        folder = final.parent
        new_folder = not folder.is_dir()
        if new_folder:
            private_dir(folder)
        write_private(final, data)
        fsync_dir(folder)
        if new_folder:  # the new day/month/year folders' entries must survive power loss too
            for parent in list(folder.parents)[:3]:
                fsync_dir(parent)
        return rel

    def read(self, rel: str) -> bytes:
        """The JPEG (opened if sealed). Raises OSError when the file is gone."""
        data = (self.dir / rel).read_bytes()
        return self.vault.open(data) if self.vault is not None else data

    def reseal(self, rel: str, only_plaintext: bool) -> bool:
        """Seal a file again with the current key (or only if plaintext); True if rewritten."""
        if self.vault is None:
            return False
        path = self.dir / rel
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return False
        if not self.vault.needs_reseal(data):
            return False
        if only_plaintext and data[:3] == b"FGE":
            return False
        write_private(path, self.vault.seal(self.vault.open(data)))
        return True

    def remove(self, rel: str) -> bool:
        try:
            (self.dir / rel).unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("journal: cannot delete snapshot %s: %s", rel, exc)
            return False

    def scan(self) -> list[tuple[str, int, float]]:
        """(relative path, size, mtime) of every file under the folder."""
        out: list[tuple[str, int, float]] = []
        if not self.dir.is_dir():
            return out
        for root, _dirs, files in os.walk(self.dir):
            for name in files:
                full = Path(root) / name
                try:
                    st = full.stat()
                except OSError:
                    continue
                out.append((full.relative_to(self.dir).as_posix(), st.st_size, st.st_mtime))
        return out

    def prune_empty_dirs(self) -> None:
        """Drop emptied day folders, but not fresh ones a concurrent record() may be using."""
        if not self.dir.is_dir():
            return
        for root, _dirs, files in os.walk(self.dir, topdown=False):
            path = Path(root)
            if path == self.dir or files:
                continue
            with contextlib.suppress(OSError):  # not empty after all, or just created
                if path.stat().st_mtime < time.time() - ORPHAN_GRACE_S:
                    path.rmdir()


__all__ = ["FILE_MODE", "ORPHAN_GRACE_S", "SnapshotStore", "fsync_dir"]
