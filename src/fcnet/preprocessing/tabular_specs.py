"""The state of each column of a :class:`~fcnet.preprocessing.TabularEncoder` (its spec), how
many output columns it writes, the encoding of one column by it, and the roles in words.

A spec is plain JSON, saved inside the model file and checked field by field when read back, so
that a damaged file fails with a message instead of encoding rows wrongly. One spec per training
column used::

    {"name": "carat", "role": "numeric", "median": 0.7, "missing": true,
     "offset": 0.8, "scale": 0.47}
    {"name": "flag", "role": "boolean", "median": 1.0, "missing": false,
     "offset": 0.0, "scale": 1.0}
    {"name": "cut", "role": "categorical", "encoding": "onehot" | "codes",
     "categories": ["Fair", "Good", ...], "rare": [...]}
    {"name": "notes", "role": "empty"}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fcnet.preprocessing.columns import booleans_of, factorize_text, numbers_of

OTHER = "<other>"
MISSING = "<missing>"
_WHO = "TabularEncoder"
_OPTIONS = ("categorical", "numeric", "drop", "scale", "min_frequency", "max_onehot")


def spec_widths(specs: list[dict[str, Any]]) -> list[int]:
    """How many output columns each spec writes."""
    widths = []
    for spec in specs:
        role = spec["role"]
        if role in ("numeric", "boolean"):
            widths.append(2 if spec["missing"] else 1)
        elif role == "categorical":
            widths.append(len(spec["categories"]) + 1 if spec["encoding"] == "onehot" else 1)
        else:
            widths.append(0)
    return widths


def _fail(what: str, value: Any) -> ValueError:
    shown = " ".join(repr(value).split())
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return ValueError(f"{_WHO}: expected {what} in the config, got {shown}.")


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(f"{what} as a list of strings", value)
    return list(value)


def _number(spec: dict[str, Any], key: str) -> float:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"a finite number for {spec.get('name')!r} {key}", value)
    return float(value)


def _check_spec(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise _fail("a column spec with a 'name'", spec)
    name, role = spec["name"], spec.get("role")
    if role == "empty":
        return {"name": name, "role": "empty"}
    if role in ("numeric", "boolean"):
        checked = {"name": name, "role": role}
        for key in ("median", "offset", "scale"):
            checked[key] = _number(spec, key)
        if checked["scale"] <= 0:
            raise _fail(f"a scale > 0 for {name!r}", checked["scale"])
        if not isinstance(spec.get("missing"), bool):
            raise _fail(f"missing as true or false for {name!r}", spec.get("missing"))
        checked["missing"] = spec["missing"]
        return checked
    if role == "categorical":
        if spec.get("encoding") not in ("onehot", "codes"):
            raise _fail(f"encoding 'onehot' or 'codes' for {name!r}", spec.get("encoding"))
        categories = _strings(spec.get("categories"), f"{name!r} categories")
        if len(set(categories)) != len(categories):
            raise _fail(f"distinct categories for {name!r}", categories)
        return {
            "name": name,
            "role": role,
            "encoding": spec["encoding"],
            "categories": categories,
            "rare": _strings(spec.get("rare", []), f"{name!r} rare categories"),
        }
    raise _fail(f"a role numeric, boolean, categorical or empty for {name!r}", role)


def check_config(config: Any) -> tuple[dict[str, Any], list[str] | None, list[dict] | None]:
    """Validate :meth:`TabularEncoder.get_config` output; return (options, columns_in, specs)."""
    if not isinstance(config, dict):
        raise TypeError(f"{_WHO}: expected config to be a dict, got {type(config).__name__}.")
    if config.get("type", _WHO) != _WHO:
        raise ValueError(f"{_WHO}: expected config of type {_WHO!r}, got {config.get('type')!r}.")
    options = {key: config[key] for key in _OPTIONS if key in config}
    columns_in, specs = config.get("columns_in"), config.get("specs")
    if specs is None:
        return options, None, None
    columns_in = _strings(columns_in, "columns_in")
    if not isinstance(specs, list):
        raise _fail("specs as a list", specs)
    checked = [_check_spec(spec) for spec in specs]
    unknown = [spec["name"] for spec in checked if spec["name"] not in columns_in]
    if unknown:
        raise _fail("spec names among columns_in", unknown)
    return options, columns_in, checked


def check_finite(who: str, name: str, values: np.ndarray) -> None:
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.argmax(infinite))
        value = values[row].item()
        raise ValueError(
            f"{who}: column {name!r} row {row}: expected a finite number, got {value!r}."
        )


def encode_column(who: str, spec: dict[str, Any], series: Any, out: np.ndarray) -> int:
    """Write one column's outputs into ``out`` (m, width); return its count of unseen values."""
    name, role = spec["name"], spec["role"]
    if role == "categorical":
        return _encode_categories(who, spec, series, out)
    if role == "boolean":
        values = booleans_of(who, name, series)
    else:
        values, bad, texts = numbers_of(who, name, series)
        if bad.any():
            row = int(np.argmax(bad))
            value = series.iloc[row]
            raise ValueError(
                f"{who}: column {name!r} was numeric in training; got text {value!r} at row {row}."
            )
        check_finite(who, name, values)
    missing = np.isnan(values)
    column = out[:, 0]
    np.copyto(column, values)
    column[missing] = spec["median"]
    column -= spec["offset"]
    column /= spec["scale"]
    if spec["missing"]:
        out[:, 1] = missing
    return 0


def _encode_categories(who: str, spec: dict[str, Any], series: Any, out: np.ndarray) -> int:
    codes, texts = factorize_text(who, spec["name"], series)
    kept = {category: i for i, category in enumerate(spec["categories"])}
    other = len(kept)
    rare = set(spec["rare"])
    slot_of_missing = kept.get(MISSING, other)
    lookup = np.array([*(kept.get(t, other) for t in texts), slot_of_missing], dtype=np.int64)
    unseen_text = np.array(
        [
            *(t not in kept and t not in rare for t in texts),
            MISSING not in kept and MISSING not in rare,
        ],
        dtype=bool,
    )
    slots = lookup[codes]
    unseen = int(np.count_nonzero(unseen_text[codes]))
    if spec["encoding"] == "codes":
        out[:, 0] = slots
    else:
        out[...] = 0.0
        out[np.arange(len(slots)), slots] = 1.0
    return unseen


def describe(specs: list[dict[str, Any]], n_dropped: int) -> str:
    """The roles of ``specs`` in words: ``6 numeric, 3 categorical (one-hot 20 columns), ...``."""
    count = {r: sum(s["role"] == r for s in specs) for r in ("numeric", "boolean", "empty")}
    onehot = [s for s in specs if s["role"] == "categorical" and s["encoding"] == "onehot"]
    codes = [s for s in specs if s["role"] == "categorical" and s["encoding"] == "codes"]
    parts = [f"{count['numeric']} numeric"]
    if count["boolean"]:
        parts.append(f"{count['boolean']} boolean")
    if onehot or codes:
        inner = []
        if onehot:
            inner.append(f"one-hot {sum(len(s['categories']) + 1 for s in onehot)} columns")
        if codes:
            sizes = "+".join(str(len(s["categories"]) + 1) for s in codes)
            inner.append(f"{len(codes)} embedded: {sizes} codes")
        parts.append(f"{len(onehot) + len(codes)} categorical ({', '.join(inner)})")
    with_missing = sum(bool(s.get("missing")) for s in specs) + sum(
        MISSING in s.get("categories", ()) or MISSING in s.get("rare", ()) for s in specs
    )
    if with_missing:
        parts.append(f"{with_missing} with missing values")
    if count["empty"]:
        parts.append(f"{count['empty']} empty (left out)")
    if n_dropped:
        parts.append(f"{n_dropped} dropped")
    return ", ".join(parts)
