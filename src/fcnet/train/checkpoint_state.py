"""The parts of a checkpoint that are not the model: state split into JSON and arrays and joined
back, and the strict checks of what a file holds."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import first_nonfinite
from fcnet.train.history import History


def _split_state(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    meta, arrays = {}, {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            arrays[key] = value
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, np.ndarray) for v in value.values())
        ):
            for sub, array in value.items():
                arrays[f"{key}/{sub}"] = array
            meta[key] = {"__arrays__": list(value)}
        else:
            meta[key] = value
    return meta, arrays


def _join_state(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    state = {}
    for key, value in meta.items():
        if isinstance(value, dict) and "__arrays__" in value:
            state[key] = {sub: np.array(arrays[f"{key}/{sub}"]) for sub in value["__arrays__"]}
        else:
            state[key] = value
    for key, array in arrays.items():
        if "/" not in key:
            state[key] = np.array(array)
    return state


class _CheckpointError(ValueError):
    """A checkpoint check failed; its message is final (it names the file)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_saved_params(callback: Any, params: dict[str, np.ndarray], name: str) -> None:
    """A callback's saved copy of the parameters (EarlyStopping's best epoch) must fit the
    model: the same keys, shapes and finite values, or restoring it at the end would fail."""
    saved = getattr(callback, "best_params", None)
    if saved is None:
        return
    if not isinstance(saved, dict) or saved.keys() != params.keys():
        raise ValueError(
            f"{name}: the saved {type(callback).__name__} state holds parameters "
            f"{sorted(saved) if isinstance(saved, dict) else saved!r}, the model has "
            f"{sorted(params)}."
        )
    who = f"{name}: the saved {type(callback).__name__} state's parameter"
    for key, value in saved.items():
        if value.shape != params[key].shape:
            raise ValueError(
                f"{who} {key!r} has shape {value.shape}; the model's has {params[key].shape}."
            )
        bad = first_nonfinite(value)
        if bad is not None:
            raise ValueError(
                f"{who} {key!r} holds {value[bad].item()} at index {list(bad)}; expected finite "
                "values."
            )


def _history_from(data: Any, name: str) -> History:
    """A History from a checkpoint, each recorded value checked to be a number."""
    if not isinstance(data, dict) or not isinstance(data.get("history", {}), dict):
        raise _CheckpointError(f"{name}: the saved history is not a JSON object.")
    for key, values in data.get("history", {}).items():
        if not isinstance(values, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        ):
            raise _CheckpointError(f"{name}: the saved history {key!r} is not a list of numbers.")
    epochs = data.get("epoch", [])
    if not isinstance(epochs, list) or not all(_is_int(e) for e in epochs):
        raise _CheckpointError(f"{name}: the saved history's epochs are not integers.")
    return History.from_dict(data)
