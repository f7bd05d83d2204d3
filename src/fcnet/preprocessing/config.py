"""Rebuild a model's saved preprocessing from its config, by the config's ``"type"``."""

from __future__ import annotations

from typing import Any

from fcnet.preprocessing.scalers import MinMaxScaler, StandardScaler
from fcnet.preprocessing.tabular import TabularEncoder

#: The preprocessing classes a model file may name, by their ``get_config()["type"]``.
PREPROCESSORS: dict[str, type] = {
    "StandardScaler": StandardScaler,
    "MinMaxScaler": MinMaxScaler,
    "TabularEncoder": TabularEncoder,
}


def scaler_from_config(config: dict[str, Any]) -> StandardScaler | MinMaxScaler | TabularEncoder:
    """Rebuild whichever preprocessing ``config`` (from ``get_config``) describes.

    Parameters
    ----------
    config : dict
        With ``"type"`` ``"StandardScaler"``, ``"MinMaxScaler"`` or ``"TabularEncoder"``.

    Returns
    -------
    StandardScaler, MinMaxScaler or TabularEncoder
    """
    if not isinstance(config, dict):
        raise TypeError(f"scaler_from_config: expected a dict, got {type(config).__name__}.")
    kind = config.get("type")
    if kind not in PREPROCESSORS:
        valid = ", ".join(repr(k) for k in sorted(PREPROCESSORS))
        raise ValueError(
            f"scaler_from_config: unknown scaler type {kind!r}; expected one of {valid}."
        )
    return PREPROCESSORS[kind].from_config(config)
