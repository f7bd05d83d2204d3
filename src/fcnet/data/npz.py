"""NumPy ``.npz`` archives, read without unpickling: :func:`load_npz`."""

from __future__ import annotations

import math
import os
import struct
import zipfile
import zlib

import numpy as np

from fcnet._validation import first_nonfinite
from fcnet.data._common import (
    _DEFLATE_SLACK,
    _MAX_DEFLATE_RATIO,
    DataError,
    _as_features,
    _existing_file,
    _int64_labels,
    _listing,
    _one_line,
)
from fcnet.data.dataset import Dataset


def _read_npz_member(
    who: str, where: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
) -> np.ndarray:
    """One .npy member, checking its header's claimed size against the zip entry first."""
    if info.flag_bits & 0x1:
        raise DataError(f"{who}: {where} array {name!r} is encrypted; expected a plain .npz.")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise DataError(
            f"{who}: {where} array {name!r} is stored uncompressed in {info.compress_size} "
            f"bytes but claims {info.file_size}; the archive is corrupt."
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataError(
            f"{who}: {where} array {name!r} uses zip compression method {info.compress_type}; "
            "expected stored (0) or deflated (8), as numpy.savez writes."
        )
    if (
        info.compress_type == zipfile.ZIP_DEFLATED
        and info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + _DEFLATE_SLACK
    ):
        raise DataError(
            f"{who}: {where} array {name!r} claims {info.file_size} bytes from "
            f"{info.compress_size} compressed bytes, more than deflate can produce; "
            "the archive is corrupt."
        )
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise DataError(
                f"{who}: {where} array {name!r} has .npy format version {version}; expected "
                "1.0 or 2.0."
            )
        header_size = member.tell()
        if dtype.hasobject or dtype.kind not in "biufU" or dtype.itemsize == 0:
            raise DataError(
                f"{who}: {where} array {name!r} must hold numbers (or strings for y), "
                f"got dtype {dtype}."
            )
        if any(d < 0 for d in shape):
            raise DataError(
                f"{who}: {where} array {name!r} claims shape {shape}; expected sizes >= 0."
            )
        n_bytes = math.prod(shape) * dtype.itemsize
        if header_size + n_bytes != info.file_size:
            raise DataError(
                f"{who}: {where} array {name!r} claims shape {shape} ({n_bytes} bytes), but "
                f"its entry holds {info.file_size - header_size} bytes of data; the archive is "
                "corrupt."
            )
        payload = member.read(n_bytes)
    if len(payload) != n_bytes:
        raise DataError(
            f"{who}: {where} array {name!r} is truncated; expected {n_bytes} bytes, "
            f"got {len(payload)}."
        )
    flat = np.frombuffer(payload, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran_order else "C")


def load_npz(path: str | os.PathLike) -> Dataset:
    """Read features ``X`` and optional targets ``y`` from an ``.npz`` archive (``np.savez``).

    Never unpickles: arrays of Python objects are refused. ``X`` of 3 or more dimensions
    (images) is flattened to ``(m, -1)``.

    Parameters
    ----------
    path : str or os.PathLike
        The archive. Other arrays in it are ignored.

    Returns
    -------
    Dataset
        ``X`` float32 ``(m, n)``; ``y`` ``(m,)`` or ``(m, k)`` (integers as int64), or None
        when the archive has no ``y``.

    Raises
    ------
    DataError
        The file is missing or not a valid .npz, it has no ``X``, ``X`` is not numeric, not at
        least 2-D or not finite, or ``y`` does not have one row per row of ``X``.
    """
    who = "load_npz"
    file = _existing_file(who, path)
    where = f"'{path}'"
    with open(file, "rb") as handle:
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(
            f"{who}: {where} is a single .npy array; expected an .npz archive with arrays 'X' "
            "and optional 'y' (numpy.savez)."
        )
    try:
        with zipfile.ZipFile(file) as archive:
            members = {
                info.filename[: -len(".npy")]: info
                for info in archive.infolist()
                if info.filename.endswith(".npy")
            }
            if "X" not in members:
                found = _listing(sorted(members)) if members else "no arrays"
                raise DataError(
                    f"{who}: {where} has no array 'X'; expected arrays 'X' and optional 'y', "
                    f"got {found}."
                )
            X_raw = _read_npz_member(who, where, archive, members["X"], "X")
            y_raw = (
                _read_npz_member(who, where, archive, members["y"], "y") if "y" in members else None
            )
    except DataError:
        raise
    # zipfile, zlib and the .npy header parser signal a corrupt archive with many types.
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        NotImplementedError,
        RuntimeError,
        struct.error,
        OverflowError,
        SyntaxError,
    ) as exc:
        raise DataError(
            f"{who}: {where} is not a valid .npz archive; expected a zip of .npy arrays, "
            f"got {_one_line(exc)}."
        ) from None
    X = _as_features(who, where, X_raw)
    y = None
    if y_raw is not None:
        if y_raw.ndim not in (1, 2) or len(y_raw) != len(X) or 0 in y_raw.shape[1:]:
            raise DataError(
                f"{who}: {where} array 'y' has shape {y_raw.shape}; expected ({len(X)},) or "
                f"({len(X)}, k) with k >= 1, one row per row of X."
            )
        bad = first_nonfinite(y_raw) if y_raw.dtype.kind == "f" else None
        if bad is not None:
            raise DataError(
                f"{who}: {where} array 'y' row {bad[0]}: expected finite numbers, "
                f"got {y_raw[bad].item()!r}."
            )
        if y_raw.dtype.kind in "iu":
            y = _int64_labels(y_raw, f"{who}: {where} array 'y'")
        else:
            y = np.array(y_raw)
    names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(X, y, names, None if y is None else "y")
