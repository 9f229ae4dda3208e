"""Reading the two files of a bulk import safely: the CSV (UTF-8 with or without a BOM, comma,
semicolon or tab separated, English or Russian column names) and the zip of photos.

The zip comes from a person's computer and is opened on the server, so it is treated as
hostile: a limit on the number of entries and on the sizes its directory declares (checked
before anything is unpacked), each photo read with a cap (zipfile never returns more than the
declared size, and a lying entry fails its CRC), nothing ever written to disk, and names that
climb out of the archive (`../`, absolute, drive letters) never matched. A spreadsheet formula
in a cell (`=`, `+`, `@`, tab, CR first) is refused: a name never needs one, and the value could
reach another spreadsheet through an export.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from facegate.server.errors import BadImport

#: Column names (lower case) for each field: English and Russian, as a manager would type.
COLUMNS = {
    "name": ("name", "full name", "resident", "имя", "фио", "жилец"),
    "apartment": ("apartment", "flat", "apt", "квартира", "кв", "кв."),
    "photo": ("photo", "photos", "photo file", "file", "фото", "файл"),
    "notes": ("notes", "note", "comment", "примечание", "примечания", "комментарий"),
}
FORMULA_START = ("=", "+", "@", "\t", "\r")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ImportLimits:
    """How much one import may ask of the server. The zip's upload limit is `zip_mb`; every
    photo in it is also held to `server.max_upload_mb` once unpacked."""

    csv_mb: float = 2
    rows: int = 2000
    zip_mb: float = 100
    entries: int = 2000
    unpacked_mb: float = 500


@dataclass
class CsvRow:
    line: int
    values: dict[str, str]
    problem: str = ""  # a row that cannot be read as one resident


@dataclass
class CsvTable:
    rows: list[CsvRow]
    ignored_columns: list[str] = field(default_factory=list)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadImport(
            f"the CSV is not UTF-8 text (line {line}); save it as 'CSV UTF-8' "
            f"(Excel: File > Save As > CSV UTF-8)"
        ) from None


def _dialect(text: str) -> str:
    head = text.split("\n", 1)[0]
    counts = {d: head.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(data: bytes, limits: ImportLimits) -> CsvTable:
    """The rows of the CSV, each a dict of the known columns; `BadImport` when the file as a
    whole cannot be used (not UTF-8, no name column, too many rows, unreadable)."""
    text = _decode(data).replace("\x00", "")
    if not text.strip():
        raise BadImport("the CSV is empty; its first line names the columns (name, apartment)")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text), strict=False)
    try:
        header = next(reader)
        columns: list[str | None] = []
        ignored = []
        for h in header:
            key = h.strip().strip('"').lower()
            col = next((c for c, names in COLUMNS.items() if key in names), None)
            if col in columns:
                col = None
            columns.append(col)
            if col is None and key:
                ignored.append(h.strip()[:60])
        if "name" not in columns:
            raise BadImport(
                "the CSV's first line must name the columns: 'name' (or 'имя'), and "
                "optionally 'apartment', 'photo', 'notes'"
            )
        rows: list[CsvRow] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= limits.rows:
                raise BadImport(f"the CSV has more than {limits.rows} rows; split it")
            rows.append(_row(reader.line_num, columns, cells))
    except csv.Error as exc:
        raise BadImport(f"the CSV cannot be read at line {reader.line_num}: {exc}") from None
    return CsvTable(rows, ignored)


def _row(line: int, columns: list[str | None], cells: list[str]) -> CsvRow:
    values = {c: "" for c in COLUMNS}
    for col, cell in zip(columns, cells, strict=False):
        if col is not None:
            values[col] = cell
    row = CsvRow(line, {k: v.strip() for k, v in values.items()})
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
        row.problem = f"{len(cells)} cells where the header has {len(columns)}"
    for col, value in values.items():
        if value.lstrip(" ").startswith(FORMULA_START):
            row.problem = f"the {col} begins with {value.lstrip(' ')[0]!r}: a spreadsheet formula"
    return row


def safe_name(name: str) -> bool:
    """A file name inside the archive: no climbing out, no absolute path, no drive."""
    if not name or "\x00" in name or name.startswith(("/", "\\")) or _DRIVE.match(name):
        return False
    parts = re.split(r"[\\/]", name)
    return ".." not in parts


class PhotoArchive:
    """The zip of photos, opened with its limits checked; `read(name)` unpacks one photo."""

    def __init__(self, data: bytes, limits: ImportLimits, max_photo_mb: float) -> None:
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = [i for i in self._zip.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise BadImport(f"the photos file is not a readable zip archive ({exc})") from None
        if len(infos) > limits.entries:
            raise BadImport(f"the zip holds {len(infos)} files; at most {limits.entries}")
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limits.unpacked_mb * 1024 * 1024:
            raise BadImport(
                f"the zip unpacks to {unpacked / 1024 / 1024:.0f} MB; at most "
                f"{limits.unpacked_mb:g} MB"
            )
        self._max = int(max_photo_mb * 1024 * 1024)
        self._max_mb = max_photo_mb
        self.names = [i.filename for i in infos]
        self._by_path: dict[str, zipfile.ZipInfo] = {}
        by_base: dict[str, list[zipfile.ZipInfo]] = {}
        for i in infos:
            if not safe_name(i.filename):
                continue
            path = i.filename.replace("\\", "/").lower()
            self._by_path[path] = i
            by_base.setdefault(posixpath.basename(path), []).append(i)
        self._by_base = by_base
        self.used: set[str] = set()

    def read(self, name: str) -> tuple[bytes | None, str, str]:
        """(the photo's bytes, "", "") or (None, reason, message) when it cannot be had."""
        if not safe_name(name):
            return None, "unsafe_name", f"{name}: a file name may not leave the zip (.., /, C:)"
        key = name.replace("\\", "/").lower()
        info = self._by_path.get(key)
        if info is None:
            same = self._by_base.get(posixpath.basename(key), [])
            if len(same) > 1:
                return None, "ambiguous_name", f"{name}: several files in the zip have this name"
            info = same[0] if same else None
        if info is None:
            return None, "photo_missing", f"{name}: not in the zip"
        self.used.add(info.filename)
        if info.flag_bits & 0x1:
            return None, "bad_zip_entry", f"{name}: encrypted in the zip"
        if info.file_size > self._max:
            return None, "photo_too_large", f"{name}: larger than {self._max_mb:g} MB unpacked"
        try:
            with self._zip.open(info) as f:
                data = f.read(self._max + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error) as exc:
            return None, "bad_zip_entry", f"{name}: cannot be unpacked ({exc})"
        if len(data) > self._max:
            return None, "photo_too_large", f"{name}: larger than {self._max_mb:g} MB unpacked"
        return data, "", ""

    def unused(self, at_most: int = 100) -> list[str]:
        return [n for n in self.names if n not in self.used][:at_most]
