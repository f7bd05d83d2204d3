"""Tables as they come, made into numbers a network can train on: :class:`TabularEncoder`."""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np

from fcnet._validation import check_choice, check_nonnegative_int, check_positive_int
from fcnet.preprocessing.columns import (
    as_frame,
    booleans_of,
    factorize_text,
    infer_role,
    is_frame,
    listing,
    numbers_of,
)
from fcnet.preprocessing.tabular_specs import (
    MISSING,
    OTHER,
    check_config,
    check_finite,
    describe,
    encode_column,
    spec_widths,
)

__all__ = ["TabularEncoder"]

SCALES = {"standard": "standard", "minmax": "minmax", "none": "none"}
_IDENTIFIER_ROWS = 50  # a text column distinct in every one of at least this many rows: an id?


class TabularEncoder:
    """Encode a table's columns as numbers: impute, scale, one-hot or integer codes.

    Each column gets a role, inferred from the training data or named by the caller:

    * **numeric** (numbers, or text that all reads as numbers): a missing value becomes the
      training median ``med_j``; a column that had missing values in training also gets an
      indicator column ``name_missing`` (1 where the value was missing); then
      ``x' = (x - offset_j) / scale_j`` (``standard``: mean and population std of the imputed
      training column; ``minmax``: min and range; ``none``: 0 and 1; a constant column gets
      scale 1).
    * **boolean** (bool dtype, or text that is only true/false): 1.0 / 0.0, missing values
      imputed and flagged as for a numeric column, not scaled.
    * **categorical** (other text): the training categories seen at least ``min_frequency``
      times are kept (a missing value is the category ``<missing>``); the others, and at
      prediction any category never seen in training, share the slot ``<other>``. With at most
      ``max_onehot`` kept categories the column becomes one-hot columns ``name=category`` (in
      sorted order) and ``name=<other>``; with more, ONE column of integer codes
      ``0 .. k`` (as float values: ``k`` is ``<other>``) for an :class:`fcnet.Embedding` layer.
    * **empty** (every training value missing): left out, with a warning.

    Missing means NaN, None, ``pandas.NA``, or text that is empty or an NA-style token (see
    :mod:`fcnet.preprocessing.columns`).

    Shapes: X (m, n_columns) -> (m, n_features_out), float64. Output columns follow the input
    columns' order, each column's outputs together (:meth:`feature_names_out` names them).

    Parameters
    ----------
    categorical, numeric : list of str, optional
        Columns whose role is categorical (numbers read as their text) or numeric (at ``fit``,
        text that reads as no number becomes a missing value, with a warning).
    drop : list of str, optional
        Columns left out.
    scale : {"standard", "minmax", "none"}, default "standard"
        Scaling of numeric columns.
    min_frequency : int, default 1
        A category seen in fewer training rows than this shares the ``<other>`` slot.
    max_onehot : int, default 16
        A categorical column with more kept categories than this becomes integer codes.

    Notes
    -----
    ``transform`` matches the columns of a DataFrame by name (their order and extra columns do
    not matter; a missing column is an error naming it). A 2-D array is matched by position
    against the training columns. A value at prediction that training never saw in its column
    uses ``<other>``; one warning per call counts them. A text value in a numeric column is an
    error; numbers in a categorical column are read as their text. The fitted state is plain
    JSON (:meth:`get_config`), saved inside the model file with ``model.preprocessing``.
    """

    def __init__(
        self,
        *,
        categorical: list[str] | None = None,
        numeric: list[str] | None = None,
        drop: list[str] | None = None,
        scale: str = "standard",
        min_frequency: int = 1,
        max_onehot: int = 16,
    ) -> None:
        who = "TabularEncoder"
        self.categorical = _names(who, "categorical", categorical)
        self.numeric = _names(who, "numeric", numeric)
        self.drop = _names(who, "drop", drop)
        for first, second in (
            ("categorical", "numeric"),
            ("categorical", "drop"),
            ("numeric", "drop"),
        ):
            both = sorted(set(getattr(self, first) or ()) & set(getattr(self, second) or ()))
            if both:
                raise ValueError(
                    f"{who}: columns {listing(both)} are in both {first} and {second}."
                )
        self.scale = check_choice(who, "scale", scale, SCALES)
        self.min_frequency = check_positive_int(who, "min_frequency", min_frequency)
        self.max_onehot = check_nonnegative_int(who, "max_onehot", max_onehot)
        self.columns_in: list[str] | None = None  # every training column, in order
        self.specs: list[dict[str, Any]] | None = None  # one per column used (see fit)

    # --- fitting -----------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_config` of a fitted encoder) has run."""
        return self.specs is not None

    def fit(self, X: Any) -> Self:
        """Choose each column's role and learn its statistics from X (DataFrame or 2-D array)."""
        who = "TabularEncoder"
        frame = as_frame(who, X)
        names = list(frame.columns)
        for option in ("categorical", "numeric", "drop"):
            absent = [n for n in getattr(self, option) or () if n not in names]
            if absent:
                raise ValueError(
                    f"{who}: {option} names {listing(absent)}, not columns of X; expected "
                    f"some of {listing(names)}."
                )
        specs = []
        for name in names:
            if name in (self.drop or ()):
                continue
            spec = self._fit_column(who, name, frame[name])
            if spec["role"] == "empty":
                warnings.warn(
                    f"{who}: column {name!r} is missing in all {len(frame)} rows; it is left out.",
                    UserWarning,
                    stacklevel=3,
                )
            specs.append(spec)
        if not any(spec["role"] != "empty" for spec in specs):
            raise ValueError(f"{who}: no column of X is left to encode (columns {listing(names)}).")
        self.columns_in, self.specs = names, specs
        return self

    def _fit_column(self, who: str, name: str, series: Any) -> dict[str, Any]:
        if name in (self.categorical or ()):
            role = "categorical"
        elif name in (self.numeric or ()):
            role = "numeric"
        else:
            role = infer_role(who, name, series)
        if role == "categorical":
            return self._fit_categories(who, name, series)
        if role == "empty":
            return {"name": name, "role": "empty"}
        if role == "boolean":
            values = booleans_of(who, name, series)
        else:
            values, bad, _ = numbers_of(who, name, series)
            if bad.any():  # only a column named numeric can hold text here
                warnings.warn(
                    f"{who}: column {name!r} is numeric by request; {int(bad.sum())} text "
                    "value(s) in it that read as no number are treated as missing.",
                    UserWarning,
                    stacklevel=4,
                )
            check_finite(who, name, values)
        missing = np.isnan(values)
        if missing.all():
            return {"name": name, "role": "empty"}
        median = float(np.median(values[~missing]))
        values = np.where(missing, median, values)
        offset, scale = 0.0, 1.0
        if role == "numeric" and self.scale == "standard":
            offset, scale = float(values.mean()), float(values.std())
        elif role == "numeric" and self.scale == "minmax":
            offset, scale = float(values.min()), float(values.max() - values.min())
        if role == "numeric" and values.max() == values.min():  # constant: maps to 0
            offset, scale = (float(values[0]) if self.scale != "none" else 0.0), 1.0
        scale = scale if scale > 0 else 1.0
        return {
            "name": name,
            "role": role,
            "median": median,
            "missing": bool(missing.any()),
            "offset": offset,
            "scale": scale,
        }

    def _fit_categories(self, who: str, name: str, series: Any) -> dict[str, Any]:
        codes, texts = factorize_text(who, name, series)
        counts = np.bincount(codes[codes >= 0], minlength=len(texts))
        n_missing = int(np.count_nonzero(codes < 0))
        if n_missing == len(codes):
            return {"name": name, "role": "empty"}
        found = dict(zip(texts, counts.tolist(), strict=True))
        if n_missing:
            found[MISSING] = found.get(MISSING, 0) + n_missing
        kept = sorted(t for t, c in found.items() if c >= self.min_frequency)
        rare = sorted(t for t, c in found.items() if c < self.min_frequency)
        if len(codes) >= _IDENTIFIER_ROWS and len(texts) == len(codes):
            warnings.warn(
                f"{who}: column {name!r} holds a different value in each of its {len(codes)} "
                "rows (an identifier?); it says nothing about new rows: drop it "
                f"(drop=[{name!r}], or --drop {name} on the command line).",
                UserWarning,
                stacklevel=4,
            )
        encoding = "onehot" if len(kept) <= self.max_onehot else "codes"
        return {
            "name": name,
            "role": "categorical",
            "encoding": encoding,
            "categories": kept,
            "rare": rare,
        }

    def fit_transform(self, X: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same X."""
        return self.fit(X).transform(X)

    # --- the encoding ------------------------------------------------------------------------
    def _specs(self, method: str) -> list[dict[str, Any]]:
        if self.specs is None:
            raise RuntimeError(f"TabularEncoder: call fit before {method}.")
        return self.specs

    def transform(self, X: Any) -> np.ndarray:
        """Encode X (a DataFrame, matched by column name, or a 2-D array, by position).

        Returns
        -------
        numpy.ndarray of float64, shape (m, n_features_out)
        """
        who = "TabularEncoder"
        specs = self._specs("transform")
        assert self.columns_in is not None
        names = self.columns_in if not is_frame(X) else None
        if names is not None and np.ndim(X) == 2 and np.shape(X)[1] != len(names):
            raise ValueError(
                f"{who}: expected an array of {len(names)} columns (the training columns "
                f"{listing(names)}), got shape {np.shape(X)}; a DataFrame is matched by name."
            )
        frame = as_frame(who, X, names)
        needed = [spec["name"] for spec in specs if spec["role"] != "empty"]
        absent = [name for name in needed if name not in frame.columns]
        if absent:
            raise ValueError(
                f"{who}: X has no column {listing(absent)}; the encoder was fitted on "
                f"{listing(needed)} (extra columns are ignored)."
            )
        out = np.empty((len(frame), self.n_features_out), dtype=np.float64)
        unseen: dict[str, int] = {}
        start = 0
        for spec, width in zip(specs, spec_widths(specs), strict=True):
            if width:
                block = out[:, start : start + width]
                count = encode_column(who, spec, frame[spec["name"]], block)
                if count:
                    unseen[spec["name"]] = count
            start += width
        if unseen:
            total = sum(unseen.values())
            details = ", ".join(f"{name!r}: {count}" for name, count in unseen.items())
            warnings.warn(
                f"{who}: {total} value(s) in {len(unseen)} column(s) are categories not seen in "
                f"training ({details}); they use the column's '{OTHER}' slot.",
                UserWarning,
                stacklevel=2,
            )
        return out

    # --- what comes out ----------------------------------------------------------------------
    @property
    def n_features_out(self) -> int:
        """Number of output columns (the width of the first layer's input)."""
        return int(sum(spec_widths(self._specs("n_features_out"))))

    def feature_names_out(self) -> list[str]:
        """The name of each output column: ``carat``, ``carat_missing``, ``color=E``,
        ``color=<other>``, ``zip`` (a column of codes)."""
        names: list[str] = []
        for spec in self._specs("feature_names_out"):
            name, role = spec["name"], spec["role"]
            if role in ("numeric", "boolean"):
                names += [name, f"{name}_missing"] if spec["missing"] else [name]
            elif role == "categorical" and spec["encoding"] == "onehot":
                names += [f"{name}={c}" for c in [*spec["categories"], OTHER]]
            elif role == "categorical":
                names.append(name)
        return names

    @property
    def code_columns(self) -> list[int]:
        """Positions, among the output columns, of the columns of integer codes."""
        positions, start = [], 0
        specs = self._specs("code_columns")
        for spec, width in zip(specs, spec_widths(specs), strict=True):
            if spec["role"] == "categorical" and spec["encoding"] == "codes":
                positions.append(start)
            start += width
        return positions

    @property
    def cardinalities(self) -> list[int]:
        """Number of codes of each code column (its kept categories and ``<other>``)."""
        return [
            len(spec["categories"]) + 1
            for spec in self._specs("cardinalities")
            if spec["role"] == "categorical" and spec["encoding"] == "codes"
        ]

    @property
    def roles(self) -> dict[str, str]:
        """Each training column's role: numeric, boolean, categorical, empty or dropped."""
        specs = {spec["name"]: spec["role"] for spec in self._specs("roles")}
        return {name: specs.get(name, "dropped") for name in self.columns_in or []}

    def describe(self) -> str:
        """The roles found, in words: ``6 numeric, 3 categorical (one-hot 20 columns), ...``."""
        return describe(self._specs("describe"), len(self.drop or ()))

    # --- saving ------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The encoder as JSON values: its options and, once fitted, every column's state."""
        return {
            "type": "TabularEncoder",
            "categorical": self.categorical,
            "numeric": self.numeric,
            "drop": self.drop,
            "scale": self.scale,
            "min_frequency": self.min_frequency,
            "max_onehot": self.max_onehot,
            "columns_in": None if self.columns_in is None else list(self.columns_in),
            "specs": None if self.specs is None else [dict(spec) for spec in self.specs],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild an encoder from :meth:`get_config`, with exactly the same state."""
        options, columns_in, specs = check_config(config)
        encoder = cls(**options)
        encoder.columns_in, encoder.specs = columns_in, specs
        return encoder

    def __repr__(self) -> str:
        options = [
            f"{key}={getattr(self, key)!r}"
            for key, default in (
                ("categorical", None),
                ("numeric", None),
                ("drop", None),
                ("scale", "standard"),
                ("min_frequency", 1),
                ("max_onehot", 16),
            )
            if getattr(self, key) != default
        ]
        if self.fitted:
            options.append(f"n_features_out={self.n_features_out}")
        return f"TabularEncoder({', '.join(options)})"


def _names(who: str, option: str, names: Any) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{who}: expected {option} as a list of column names, got {names!r}.")
    return list(names)
