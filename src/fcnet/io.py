"""Save and load models as safetensors files: the weights as tensors, the architecture as JSON.

Nothing is ever unpickled or executed. The reader parses the safetensors layout itself (an
8-byte little-endian header length, a JSON header, then raw little-endian data) and checks every
offset and dtype before touching the data, so a truncated, corrupted, oversized or foreign file
raises ``ValueError`` naming the file and what is wrong.

Writes are atomic: the bytes go to a temporary file in the same folder, which is flushed,
fsynced and renamed over the target, so a crash at any instant leaves either the old file or the
new one, never a mix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fcnet._files import (
    FORMAT,
    FORMAT_VERSION,
    MAX_HEADER_BYTES,
    PathLike,
    assign_model_tensors,
    atomic_write,
    model_from,
    model_tensors,
    read_tensors,
    write_tensors,
)
from fcnet.network import Sequential

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "assign_model_tensors",
    "atomic_write",
    "load",
    "model_from",
    "model_tensors",
    "read_tensors",
    "save",
    "write_tensors",
]


def save(model: Any, path: PathLike) -> Path:
    """Write ``model`` (weights, architecture, classes, scaler) to a safetensors file.

    Parameters
    ----------
    model : Sequential
    path : str or Path

    Returns
    -------
    Path
        The path written.
    """
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": "model",
        "architecture": json.dumps(model.get_config()),
    }
    return write_tensors(path, model_tensors(model), metadata)


def load(path: PathLike, *, device: Any = None) -> Any:
    """Rebuild a model written by :func:`save`, on ``device`` (``"cpu"`` unless given: see
    :meth:`fcnet.Sequential.to`).

    Raises
    ------
    ValueError
        When the file is missing, truncated, corrupted, not an fcnet model, or its tensors do
        not match its architecture; the message names the file.
    """
    tensors, metadata = read_tensors(path)
    model = model_from(tensors, metadata, path, Sequential)
    return model if device is None else model.to(device)
