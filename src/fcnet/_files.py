"""The safetensors files fcnet writes: reading and checking them, writing them atomically, and
the tensors of a model (see :mod:`fcnet.io`, which saves and loads whole models)."""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save as _encode_safetensors

from fcnet._validation import first_nonfinite

FORMAT = "fcnet"
FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 100_000_000  # the safetensors limit
_DTYPES = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "U8": np.dtype("u1"),
}

PathLike = str | os.PathLike


def model_tensors(model: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Parameters and persistent state (e.g. running statistics) keyed ``"<layer>.<name>"``."""
    ops = getattr(model, "ops", None)
    host = np.asarray if ops is None else ops.to_host
    tensors = {prefix + k: np.ascontiguousarray(host(v)) for k, v in model.params().items()}
    for i, layer in enumerate(model.layers):
        state = getattr(layer, "state", None)
        if callable(state):
            for name, value in state().items():
                tensors[f"{prefix}{i}.{name}"] = np.ascontiguousarray(host(value))
    return tensors


def assign_model_tensors(
    model: Any,
    tensors: dict[str, np.ndarray],
    path: PathLike,
    prefix: str = "",
    *,
    check_only: bool = False,
) -> None:
    """Copy tensors into the model's live arrays, checking that keys and shapes match exactly.

    Every check runs before the first copy; ``check_only=True`` runs the checks alone.
    """
    targets = {prefix + k: v for k, v in model_tensors(model).items()}
    live = {prefix + k: v for k, v in model.params().items()}
    for i, layer in enumerate(model.layers):
        state = getattr(layer, "state", None)
        if callable(state):
            live.update({f"{prefix}{i}.{k}": v for k, v in state().items()})
    expected = set(targets)
    present = {k for k in tensors if k.startswith(prefix)} if prefix else set(tensors)
    if expected - present:
        raise ValueError(f"{_name(path)}: tensors {sorted(expected - present)} are missing.")
    if present - expected:
        raise ValueError(f"{_name(path)}: unexpected tensors {sorted(present - expected)}.")
    for key, target in live.items():
        value = tensors[key]
        if value.dtype.kind != "f":
            raise ValueError(
                f"{_name(path)}: tensor {key!r} has dtype {value.dtype.name}, "
                f"expected a float dtype ({target.dtype.name})."
            )
        if value.shape != target.shape:
            raise ValueError(
                f"{_name(path)}: tensor {key!r} has shape {value.shape}, "
                f"the architecture expects {target.shape}."
            )
        bad = first_nonfinite(value)
        if bad is not None:
            raise ValueError(
                f"{_name(path)}: tensor {key!r} contains NaN or inf "
                f"({value[bad].item()} at index {list(bad)}); expected finite weights."
            )
    if check_only:
        return
    ops = getattr(model, "ops", None)
    for key, target in live.items():
        target[...] = tensors[key] if ops is None else ops.asarray(tensors[key], target.dtype)


def model_from(
    tensors: dict[str, np.ndarray], metadata: dict[str, str], path: PathLike, cls: Any
) -> Any:
    """Build a model from the architecture in ``metadata`` and fill it from ``tensors``."""
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{_name(path)}: not an fcnet file (no 'format: fcnet' in its metadata).")
    try:
        config = json.loads(metadata["architecture"])
    except (KeyError, ValueError, RecursionError) as exc:
        raise ValueError(
            f"{_name(path)}: the architecture metadata is missing or not JSON."
        ) from exc
    model_part = {k: v for k, v in tensors.items() if "/" not in k}
    _check_architecture_size(config, model_part, path)
    dtypes = {t.dtype for t in model_part.values() if t.dtype.kind == "f"}
    dtype = dtypes.pop() if len(dtypes) == 1 else np.dtype(np.float32)
    try:
        model = cls.from_config(config, dtype=dtype)
    except (KeyError, TypeError, ValueError, AttributeError, ImportError, RecursionError) as exc:
        raise ValueError(f"{_name(path)}: the architecture cannot be built ({exc}).") from exc
    assign_model_tensors(model, model_part, path)
    return model


def _check_architecture_size(config: Any, tensors: dict[str, np.ndarray], path: PathLike) -> None:
    """Refuse an architecture whose weights could not be in the file, before allocating them.

    The tensors of a valid file hold every parameter, so a layer declaring n_in * n_out weights
    (or a width) beyond the number of stored values is corrupt or hostile: building it first
    would allocate whatever the header claims (e.g. ``Dense(10**6, 10**6)``, 4 TB).
    """
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        raise ValueError(f"{_name(path)}: the architecture has no list of layers.")
    stored = sum(int(t.size) for t in tensors.values())
    for i, entry in enumerate(layers):
        layer_config = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(layer_config, dict):
            continue
        sizes = {
            k: v
            for k, v in layer_config.items()
            if k in ("n_in", "n_out", "n", "n_features", "num_features")
            and isinstance(v, int)
            and not isinstance(v, bool)
        }
        declared = max([*sizes.values(), 0])
        if "n_in" in sizes and "n_out" in sizes:
            declared = max(declared, sizes["n_in"] * sizes["n_out"])
        if declared > stored:
            raise ValueError(
                f"{_name(path)}: layer {i} declares {declared} weights ({sizes}), "
                f"but the file stores only {stored} values (corrupted architecture)."
            )


def write_tensors(path: PathLike, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> Path:
    """Atomically write a safetensors file (temporary file, flush, fsync, rename); the same
    tensors and metadata give the same bytes (see :func:`_sorted_header`)."""
    path = Path(path)
    data = _sorted_header(_encode_safetensors(dict(tensors), metadata=metadata))
    atomic_write(path, data)
    return path


def _sorted_header(data: bytes) -> bytes:
    """``data`` with its JSON header's keys in sorted order. The encoder keeps the metadata in a
    hash map, so its order, and the file's bytes, changed from one process to the next. The
    header's length and the data's offsets stay as they were."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if len(text) > n:  # escaped otherwise than the encoder did: keep its header
        return data
    return data[:8] + text.ljust(n, b" ") + data[8 + n :]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one intact."""
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp creates the file readable by its owner only; give it the mode the file it
        # replaces had, or the one open() would have given a new file
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        try:
            os.chmod(tmp, mode)
        except OSError:  # a file system without permissions: keep what mkstemp gave
            pass
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _umask() -> int:
    """The process's umask: from /proc on Linux, else by setting it and putting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_tensors(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse a safetensors file strictly; return (tensors, metadata).

    Every failure is a ``ValueError`` naming the file: missing, too short, header length larger
    than the file or than 100 MB, header not JSON, unsupported dtype, offsets outside the data
    or overlapping, shape not matching the byte count.
    """
    name = _name(path)
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(f"load: expected a path (str or Path), got {type(path).__name__}.")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(8)
            if len(raw) < 8:
                raise ValueError(f"{name}: file is truncated ({len(raw)} bytes; a header needs 8).")
            (header_len,) = struct.unpack("<Q", raw)
            size = os.fstat(handle.fileno()).st_size
            if header_len > MAX_HEADER_BYTES:
                raise ValueError(
                    f"{name}: header length {header_len} exceeds the limit of "
                    f"{MAX_HEADER_BYTES} bytes."
                )
            if 8 + header_len > size:
                raise ValueError(
                    f"{name}: file is truncated: the header claims {header_len} bytes "
                    f"but only {size - 8} follow."
                )
            header_bytes = handle.read(header_len)
            body = handle.read()
    except FileNotFoundError:
        raise ValueError(f"{name}: no such file.") from None
    except IsADirectoryError:
        raise ValueError(f"{name}: is a directory, expected a .safetensors file.") from None
    except PermissionError:
        raise ValueError(f"{name}: permission denied.") from None
    except OSError as exc:  # a path through a file, a symlink loop, a read error
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ValueError(f"{name}: cannot be read ({reason}).") from None
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, a 5000-digit int, deep nesting
        raise ValueError(f"{name}: not a safetensors file (its header is not JSON).") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name}: not a safetensors file (its header is not a JSON object).")
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise ValueError(f"{name}: metadata must map strings to strings.")
    tensors: dict[str, np.ndarray] = {}
    spans = []
    for key, info in header.items():
        if not isinstance(info, dict):
            raise ValueError(f"{name}: entry {key!r} is not a tensor description.")
        dtype = _DTYPES.get(info["dtype"]) if isinstance(info.get("dtype"), str) else None
        if dtype is None:
            raise ValueError(
                f"{name}: tensor {key!r} has dtype {info.get('dtype')!r}; "
                f"expected one of {sorted(_DTYPES)}."
            )
        shape = info.get("shape")
        offsets = info.get("data_offsets")
        if not (
            isinstance(shape, list)
            and all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40 for d in shape
            )
            and isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise ValueError(f"{name}: tensor {key!r} has a malformed shape or data_offsets.")
        begin, end = offsets
        count = math.prod(shape)  # exact (Python ints): np.prod in int64 could wrap to 0
        if not 0 <= begin <= end <= len(body):
            raise ValueError(
                f"{name}: tensor {key!r} lies at bytes {begin}..{end}, outside the "
                f"{len(body)} bytes of data (truncated or corrupted)."
            )
        if end - begin != count * dtype.itemsize:
            raise ValueError(
                f"{name}: tensor {key!r} of shape {tuple(shape)} needs "
                f"{count * dtype.itemsize} bytes, its offsets give {end - begin}."
            )
        spans.append((begin, end, key))
        tensors[key] = np.frombuffer(body, dtype=dtype, count=count, offset=begin).reshape(shape)
    spans.sort()
    for (_, end_a, key_a), (begin_b, _, key_b) in zip(spans, spans[1:], strict=False):
        if begin_b < end_a:
            raise ValueError(f"{name}: tensors {key_a!r} and {key_b!r} overlap.")
    native = {k: v.astype(v.dtype.newbyteorder("="), copy=True) for k, v in tensors.items()}
    return native, metadata


def _name(path: Any) -> str:
    return f"'{os.fspath(path)}'" if isinstance(path, str | os.PathLike) else repr(path)
