"""IDX files (the MNIST format), plain or gzipped: :func:`load_idx`."""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from fcnet.data._common import (
    _CHUNK,
    _DEFLATE_SLACK,
    _MAX_DEFLATE_RATIO,
    DataError,
    _as_features,
    _existing_file,
    _one_line,
)
from fcnet.data.dataset import Dataset

_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_exactly(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    return data if data is not None else b""


def _read_idx(who: str, file: Path, shown: str) -> np.ndarray:
    """The array of one IDX file (plain or gzip), refusing a header the file cannot back."""
    where = f"'{shown}'"
    file_size = file.stat().st_size
    with open(file, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            return _parse_idx(who, where, stream, compressed, file_size)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{who}: {where} is not a valid gzip stream; expected a gzipped IDX file, got "
                f"{_one_line(exc)}."
            ) from None
        finally:
            if compressed:
                stream.close()


def _parse_idx(who: str, where: str, stream: Any, compressed: bool, file_size: int) -> np.ndarray:
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise DataError(
            f"{who}: {where} is truncated; expected a 4-byte IDX header, got {len(magic)} bytes."
        )
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
        codes = ", ".join(f"0x{code:02X}" for code in _IDX_TYPES)
        raise DataError(
            f"{who}: {where} is not an IDX file; expected magic 00 00 <type: {codes}> <ndim>, "
            f"got {magic.hex(' ')}."
        )
    dtype = _IDX_TYPES[magic[2]]
    ndim = magic[3]
    if ndim == 0:
        raise DataError(f"{who}: {where} declares 0 dimensions; expected at least 1.")
    dims_bytes = _read_exactly(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(
            f"{who}: {where} is truncated in its header; expected {4 * ndim} bytes of "
            f"dimensions, got {len(dims_bytes)}."
        )
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    n_bytes = math.prod(dims) * dtype.itemsize
    header_size = 4 + 4 * ndim
    if not compressed and file_size - header_size != n_bytes:
        raise DataError(
            f"{who}: {where} declares dims {dims} of {dtype.str[1:]} ({n_bytes} bytes), but "
            f"the file holds {file_size - header_size} bytes after its header."
        )
    if compressed and n_bytes > _MAX_DEFLATE_RATIO * file_size + _DEFLATE_SLACK:
        raise DataError(
            f"{who}: {where} declares dims {dims} ({n_bytes} bytes), more than a gzip file of "
            f"{file_size} bytes can hold; the file is corrupt."
        )
    # Read in chunks so a stream shorter than its header claims costs only what it holds.
    chunks = []
    remaining = n_bytes
    while remaining:
        chunk = stream.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    if remaining:
        raise DataError(
            f"{who}: {where} is truncated; dims {dims} need {n_bytes} bytes of data, "
            f"got {n_bytes - remaining}."
        )
    if compressed and stream.read(1):
        raise DataError(
            f"{who}: {where} holds more data than its dims {dims} declare ({n_bytes} bytes)."
        )
    return np.frombuffer(b"".join(chunks), dtype=dtype).reshape(dims)


def load_idx(
    images_path: str | os.PathLike, labels_path: str | os.PathLike | None = None
) -> Dataset:
    """Read an IDX file (the MNIST format), plain or gzipped, and optionally its labels.

    The format: two zero bytes, a type code (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a big-endian
    uint32, then the values, big-endian, row-major. Gzip is recognised by its magic bytes.

    Parameters
    ----------
    images_path : str or os.PathLike
        Samples ``(n, a, b, ...)`` (or ``(n, features)``), flattened to ``(n, a*b*...)``.
        Unsigned-byte images are scaled to [0, 1] by dividing by 255; other types keep their
        values.
    labels_path : str or os.PathLike, optional
        Labels ``(n,)`` (integers become int64, floats float64).

    Returns
    -------
    Dataset
        ``X`` float32 ``(n, a*b)``; ``y`` the labels or None.

    Raises
    ------
    DataError
        A file is missing, truncated, has a bad magic number, declares dimensions its size
        cannot hold (refused before reading), or the label count differs from the image count.
    """
    who = "load_idx"
    images_file = _existing_file(who, images_path)
    labels_file = None if labels_path is None else _existing_file(who, labels_path)
    where = f"'{images_path}'"
    images = _read_idx(who, images_file, str(images_path))
    if images.ndim < 2:
        raise DataError(
            f"{who}: {where} holds a 1-D array of shape {images.shape} (labels?); expected "
            "images (n, rows, cols) or samples (n, features)."
        )
    if images.shape[0] == 0 or math.prod(images.shape[1:]) == 0:
        raise DataError(
            f"{who}: {where} holds shape {images.shape}; expected at least one sample of at "
            "least one value."
        )
    if images.dtype == np.uint8:
        X = images.reshape(len(images), -1).astype(np.float32)
        X /= np.float32(255.0)  # in place: one float32 copy of the images, not two
    else:
        X = _as_features(who, where, images, "images")
    if images.ndim >= 3:
        names = ["pixel_" + "_".join(map(str, index)) for index in np.ndindex(*images.shape[1:])]
    else:
        names = [f"x{j}" for j in range(X.shape[1])]
    y = None
    if labels_file is not None:
        labels_where = f"'{labels_path}'"
        labels = _read_idx(who, labels_file, str(labels_path))
        if labels.ndim not in (1, 2) or len(labels) != len(X):
            raise DataError(
                f"{who}: labels {labels_where} have shape {labels.shape}; expected "
                f"({len(X)},), one label per image of {where}."
            )
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            i = int(np.argwhere(~np.isfinite(labels))[0][0])
            raise DataError(f"{who}: labels {labels_where} row {i}: expected a finite number.")
        y = labels.astype(np.int64 if labels.dtype.kind in "iu" else np.float64)
    return Dataset(X, y, names, None if y is None else "label")
