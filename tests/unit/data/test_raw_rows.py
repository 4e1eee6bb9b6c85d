"""The test rows' raw form: the upload's own cells for exactly the rows the split put in test,
in any of the upload formats; encoded, they are the test file's feature rows."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from csv_rows import as_csv, rows_of

from handlers.data.features import encode_features, transform_csv
from handlers.data.raw_rows import write_rows
from handlers.data.split import split_csv
from handlers.data.synthetic import generate
from handlers.recipe.reader import load_packaged

RECIPE = load_packaged("bank-marketing")


def upload(rows: int) -> bytes:
    sink = io.BytesIO()
    generate(sink, rows, seed=5)
    return sink.getvalue()


def variants(body: bytes) -> dict[str, bytes]:
    table = rows_of(body)
    table[3][table[0].index("job")] = 'admin., "quoted"'  # a cell that needs CSV quoting
    comma = as_csv(table)
    tsv = "\n".join("\t".join(r) for r in table).encode()
    return {
        "comma": comma,
        "tsv-crlf-bom": b"\xef\xbb\xbf" + tsv.replace(b"\n", b"\r\n"),
        "excel-sep-gzip": gzip.compress(b"sep=;\n" + as_csv(table).replace(b",", b";")),
    }


@pytest.mark.parametrize("form", ["comma", "tsv-crlf-bom", "excel-sep-gzip"])
def test_the_raw_rows_written_are_the_uploads_own(form: str) -> None:
    original = rows_of(variants(upload(60))["comma"])
    body = variants(upload(60))[form]
    if form == "excel-sep-gzip":
        body = gzip.decompress(body)  # the stage reads uploads through the dialect's gzip reader
    positions = np.array([0, 3, 4, 31, 59])
    sink = io.BytesIO()
    written = write_rows(io.BytesIO(body), RECIPE, positions, sink, file="u", chunk_rows=7)
    assert written == 5
    assert rows_of(sink.getvalue()) == [original[0]] + [original[p + 1] for p in positions]


def test_encoded_raw_test_rows_are_the_test_files_feature_rows() -> None:
    body = upload(400)
    processed = io.BytesIO()
    transform_csv(io.BytesIO(body), processed, RECIPE, file="u")
    processed.seek(0)
    parts = [io.BytesIO() for _ in range(3)]
    stats = split_csv(processed, *parts, rows=400, spec=RECIPE.split, chunk_rows=33)
    raw = io.BytesIO()
    write_rows(io.BytesIO(body), RECIPE, stats.test_positions, raw, file="u", chunk_rows=50)
    encoded = b"".join(encode_features(io.BytesIO(raw.getvalue()), RECIPE, file="t"))
    test_lines = parts[2].getvalue().decode().splitlines()[1:]
    assert encoded.decode() == "".join(line.split(",", 1)[1] + "\n" for line in test_lines)
