"""model.tar.gz as the XGBoost container writes and reads it.

Training writes a gzip tarball holding exactly one member, `xgboost-model`, in XGBoost's native
(UBJSON) format: byte-for-byte what `Booster.save_model("xgboost-model")` produces in 3.0. Serving
loads every regular file in the tarball (dotfiles are skipped, as the container does), from memory,
in native format only: nothing is ever unpickled.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import time

import xgboost as xgb

MODEL_FILE = "xgboost-model"


class ArtifactError(Exception):
    """Not servable: not a tarball, no model in it, or a file XGBoost cannot load."""


def pack(booster: xgb.Booster) -> bytes:
    raw = bytes(booster.save_raw(raw_format="ubj"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(MODEL_FILE)
        info.size = len(raw)
        info.mode = 0o644
        info.mtime = int(time.time())
        archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def load(data: bytes) -> tuple[xgb.Booster, ...]:
    """Every model in the tarball; more than one is served as the container's averaged ensemble."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            files = [
                (member.name, archive.extractfile(member))
                for member in archive.getmembers()
                if member.isfile() and not posixpath.basename(member.name).startswith(".")
            ]
            contents = [(name, stream.read()) for name, stream in files if stream is not None]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArtifactError(f"model data is not a readable tar.gz archive: {exc}") from exc
    if not contents:
        raise ArtifactError("model data archive holds no model file")
    return tuple(_booster(name, raw) for name, raw in contents)


def _booster(name: str, raw: bytes) -> xgb.Booster:
    try:
        booster = xgb.Booster(model_file=bytearray(raw))
    except xgb.core.XGBoostError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "unknown error"
        raise ArtifactError(f"Model {name} cannot be loaded: {first_line}") from exc
    booster.set_param("nthread", "1")
    return booster
