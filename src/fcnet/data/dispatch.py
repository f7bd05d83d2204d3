"""One entry point for every format: :func:`load` chooses the loader by the file's name."""

from __future__ import annotations

import gzip
import os
import re
import zlib
from pathlib import Path
from typing import Any, Literal

from fcnet.data._common import SUPPORTED_SUFFIXES, DataError, _existing_file
from fcnet.data.csv import load_csv
from fcnet.data.dataset import Dataset
from fcnet.data.idx import _GZIP_MAGIC, _IDX_TYPES, load_idx
from fcnet.data.npz import load_npz
from fcnet.data.parquet import load_parquet

_IDX_NAME = re.compile(r"(\.idx\d*|-ubyte)$")


def _has_idx_magic(file: Path) -> bool:
    try:
        with open(file, "rb") as raw:
            start = raw.read(2)
            raw.seek(0)
            stream: Any = gzip.GzipFile(fileobj=raw) if start == _GZIP_MAGIC else raw
            magic = stream.read(4)
    except (OSError, EOFError, zlib.error):
        return False
    return len(magic) == 4 and magic[:2] == b"\0\0" and magic[2] in _IDX_TYPES and magic[3] > 0


def _idx_labels_for(images: Path) -> Path | None:
    """The MNIST labels file next to an images file, if there is one.

    ``train-images-idx3-ubyte[.gz]`` -> ``train-labels-idx1-ubyte[.gz]`` (either compression).
    """
    if "images" not in images.name:
        return None
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    base = name[: -len(".gz")] if name.endswith(".gz") else name
    for candidate in dict.fromkeys([name, base, base + ".gz"]):
        labels = images.with_name(candidate)
        if labels != images and labels.is_file():
            return labels
    return None


def load(path: str | os.PathLike, target: str | int | Literal[False] | None = None) -> Dataset:
    """Read a data file, choosing the loader by its name.

    ``.csv`` -> :func:`load_csv`; ``.tsv`` -> :func:`load_csv` with tab delimiter;
    ``.parquet`` / ``.pq`` -> :func:`load_parquet`; ``.npz`` -> :func:`load_npz`; ``.idx``,
    ``*-ubyte`` and ``.gz`` files holding IDX -> :func:`load_idx`, with the labels file found by
    the MNIST naming convention (``train-images-idx3-ubyte.gz`` ->
    ``train-labels-idx1-ubyte.gz``) when it exists.

    Parameters
    ----------
    path : str or os.PathLike
        The data file.
    target : str or int or False, optional
        The target column for CSV and Parquet (default: the last column); ``False``: the file
        has no target column, every column is a feature. NPZ and IDX files carry their labels
        separately, so they take none (``False`` reads them as they are).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        The file is missing, its type is not supported, ``target`` is given for NPZ or IDX, or
        the loader rejects it.
    """
    who = "load"
    file = _existing_file(who, path)
    name = file.name.lower()
    if name.endswith(".csv"):
        return load_csv(path, target)
    if name.endswith((".tsv", ".tab")):
        return load_csv(path, target, delimiter="\t")
    if name.endswith((".parquet", ".pq")):
        return load_parquet(path, target)
    is_idx = _IDX_NAME.search(name.removesuffix(".gz")) is not None
    if name.endswith(".npz") or is_idx or (name.endswith(".gz") and _has_idx_magic(file)):
        if target is not None and target is not False:
            raise DataError(
                f"{who}: '{path}' stores its labels apart from the features; expected no "
                f"target, got target={target!r}."
            )
        if name.endswith(".npz"):
            return load_npz(path)
        return load_idx(path, _idx_labels_for(file))
    suffix = "".join(file.suffixes[-2:]) or "no suffix"
    raise DataError(
        f"{who}: '{path}' has an unsupported type ({suffix}); expected one of "
        f"{', '.join(SUPPORTED_SUFFIXES)}."
    )
