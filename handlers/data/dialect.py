"""How an upload's bytes are read: the one reader that validation, the recipe draft and the CLI
share, so a file one of them accepts, the others read the same way."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from service.errors import PermanentError

GZIP_MAGIC = b"\x1f\x8b"


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
