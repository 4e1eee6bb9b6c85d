"""How an upload's bytes are read: the rules that validation, the recipe draft and the CLI share,
so a file one of them accepts, the others read the same way.

- gzip by its magic bytes, whatever the name says;
- a UTF-8 byte order mark is skipped;
- Excel's optional first line `sep=<char>` names the separator, and the header is the next line;
- otherwise the separator is the one of `SEPARATORS` that splits the header into the most of the
  wanted columns (the recipe's), then into the most fields.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from service.failures import PermanentError

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = codecs.BOM_UTF8
# Comma, semicolon (Excel where the decimal mark is a comma), tab (TSV) and pipe.
SEPARATORS = (",", ";", "\t", "|")
_EXCEL_SEP = re.compile(r"^sep=(.)$")


@contextmanager
def opened(path: Path, file: str) -> Iterator[BinaryIO]:
    """The upload's bytes, decompressed as they are read when it is gzip (by its magic bytes,
    whatever its name says); a compressed upload that does not decompress is bad input."""
    with path.open("rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw, mode="rb") as unpacked:
            try:
                yield cast(BinaryIO, unpacked)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise PermanentError(f"file {file}: not a readable gzip file: {exc}") from exc


def excel_separator(line: str) -> str | None:
    """The separator Excel's optional first line `sep=<char>` names, if the line is one."""
    match = _EXCEL_SEP.match(line.strip())
    return match.group(1) if match else None


def split_header(line: str, separator: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in next(csv.reader([line], delimiter=separator), []))


def sniff(
    line: str, wanted: frozenset[str] = frozenset(), hinted: str | None = None
) -> tuple[str, tuple[str, ...]]:
    """(separator, header fields): the hinted separator, else the one of `SEPARATORS` that
    splits `line` into the most `wanted` names, then into the most fields (a full tie goes to
    the greater character, as it always has: `;` before `,`)."""
    candidates = []
    for separator in (hinted,) if hinted else SEPARATORS:
        fields = split_header(line, separator)
        candidates.append((len(wanted.intersection(fields)), len(fields), separator))
    *_, separator = max(candidates)
    return separator, split_header(line, separator)


def separator_names() -> str:
    """The separators, as an error message lists them."""
    return ", ".join(repr(s) for s in SEPARATORS)


def csv_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as the CSV the pipeline writes: comma, minimal quoting, `\\n`, UTF-8."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


class _Rows:
    """A file-like sink that keeps each write: csv.writer writes one row per call."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def write(self, text: str) -> None:
        self.items.append(text)


def csv_records(rows: Iterable[Sequence[Any]]) -> list[bytes]:
    """Each row as its own CSV record (as `csv_lines` writes it), for batching by size."""
    collected = _Rows()
    csv.writer(collected, lineterminator="\n").writerows(rows)
    return [item.encode("utf-8") for item in collected.items]
