"""Tables on the command line: when ``fcnet train`` encodes a table (text columns, missing values,
``--categorical``, ``--drop``), the network it builds for the encoded width (an Embedding first
when the encoder writes columns of codes), and the features ``evaluate`` and ``predict`` give a
saved model, matched by column name when it has an encoder."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet.cli.common import UsageError

_RELU_LIKE = {"relu", "leaky_relu", "elu", "gelu"}


def names_flag(flag: str, text: str | None) -> list[str] | None:
    """``--categorical cut,color`` -> ["cut", "color"]."""
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UsageError(f"expected {flag} as comma-separated column names, got {text!r}.")
    return names


def as_table(dataset: Any) -> Any:
    """The data set's features as a DataFrame named by its feature names."""
    import pandas as pd

    if dataset.is_table:
        return dataset.X
    return pd.DataFrame(np.asarray(dataset.X), columns=dataset.feature_names, copy=False)


def take(X: Any, rows: np.ndarray) -> Any:
    """Rows of an array or a DataFrame."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def fit_encoder(args: Any, X: Any, train_rows: np.ndarray) -> Any:
    """A TabularEncoder for the table X (--categorical, --drop, --scale), fitted on the training
    rows; a column named by a flag that X lacks is a usage error naming the columns."""
    from fcnet.preprocessing import TabularEncoder

    categorical = names_flag("--categorical", args.categorical)
    drop = names_flag("--drop", args.drop)
    columns = [str(c) for c in X.columns]
    for flag, names in (("--categorical", categorical), ("--drop", drop)):
        absent = [name for name in names or () if name not in columns]
        if absent:
            shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
            raise UsageError(f"{flag} names no column {', '.join(absent)}; the columns: {shown}.")
    try:
        encoder = TabularEncoder(categorical=categorical, drop=drop, scale=args.scale)
    except ValueError as exc:
        raise UsageError(str(exc).removeprefix("TabularEncoder: ")) from None
    return encoder.fit(take(X, train_rows))


def build_model(
    n_in: int,
    hidden: list[int],
    n_out: int,
    activation: str,
    dropout: float,
    rng: Any,
    encoder: Any = None,
) -> Any:
    """Dense layers ``n_in -> hidden... -> n_out``; with an encoder that writes columns of
    codes, an :class:`fcnet.Embedding` first (its output width feeds the first Dense)."""
    from fcnet.layers import Dense, Dropout, Embedding
    from fcnet.network import Sequential

    init = "he_uniform" if activation in _RELU_LIKE else "glorot_uniform"
    layers: list[Any] = []
    width = n_in
    if encoder is not None and encoder.code_columns:
        layers.append(Embedding.from_encoder(encoder, rng=rng))
        width = layers[0].n_out
    for size in hidden:
        layers.append(Dense(width, size, activation=activation, init=init, rng=rng))
        if dropout > 0:
            layers.append(Dropout(dropout))
        width = size
    layers.append(Dense(width, n_out, rng=rng))
    return Sequential(layers)


def network_words(model: Any, hidden: list[int], n_out: int) -> str:
    """``29-128-1``, or ``embedding (1 column of 41 codes -> 13) then 30-128-1``."""
    first = model.layers[0]
    if type(first).__name__ != "Embedding":
        return "-".join(map(str, [first.n_in, *hidden, n_out]))
    tables = ", ".join(
        f"{c} codes -> {d}" for c, d in zip(first.cardinalities, first.dims, strict=True)
    )
    count = len(first.columns)
    return f"embedding ({count} column{'s' * (count != 1)}: {tables}) then " + "-".join(
        map(str, [first.n_out, *hidden, n_out])
    )


def has_encoder(model: Any) -> bool:
    from fcnet.preprocessing import TabularEncoder

    return isinstance(getattr(model, "preprocessing", None), TabularEncoder)


def features_for(model: Any, dataset: Any, path: str) -> Any:
    """What ``model.predict`` takes from a loaded file: a DataFrame (matched by name) for a
    model with an encoder; numbers for one trained on numbers."""
    if has_encoder(model):
        return as_table(dataset)
    return numbers_only(dataset.X, path) if dataset.is_table else np.asarray(dataset.X)


def numbers_only(table: Any, path: str) -> np.ndarray:
    """A table of numbers as float32; text or missing values are a usage error naming them,
    for a model trained on numbers only."""
    text = [str(c) for c in table.columns if table[c].dtype.kind not in "biuf"]
    gaps = [str(c) for c in table.columns if str(c) not in text and table[c].isna().any()]
    if not text and not gaps:
        return table.to_numpy(dtype=np.float32)
    what = "text in " + ", ".join(_first_text(table[c], c) for c in text) if text else ""
    if gaps:
        what += ("; " if what else "") + f"missing values in {', '.join(gaps)}"
    raise UsageError(
        f"'{path}' has {what}, but this model was trained on numbers only (no encoder); "
        "train it on such a table to encode them."
    )


def _first_text(series: Any, name: str) -> str:
    """``column 'x' ('abc', row 1)``: a text column and its first value that is no number."""
    for row, value in enumerate(series.tolist()):
        if value is None or isinstance(value, float):
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            return f"column {name!r} ({value!r}, row {row})"
    return f"column {name!r}"
