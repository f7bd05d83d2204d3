"""A model fit on a numeric table remembers its column names, saves them, and matches a later
table to them by name; a missing column is an error naming it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fcnet


def _frame(seed=0, m=64):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=m), "b": rng.normal(size=m), "c": rng.normal(size=m)})


def _fitted():
    frame = _frame()
    y = (frame["a"] - frame["c"] > 0).astype(int)
    model = fcnet.Sequential([fcnet.Dense(3, 2, rng=0)])
    model.fit(frame, y, epochs=2, rng=0)
    return model, frame


def test_predicting_on_a_table_matches_columns_by_name(tmp_path):
    model, frame = _fitted()
    assert model.feature_names == ["a", "b", "c"]
    expected = model.predict_output(frame)
    shuffled = frame[["c", "a", "b"]].assign(extra=1.0)
    np.testing.assert_array_equal(model.predict_output(shuffled), expected)
    fcnet.save(model, tmp_path / "m.safetensors")
    loaded = fcnet.load(tmp_path / "m.safetensors")
    assert loaded.feature_names == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.predict_output(shuffled), expected)
    np.testing.assert_array_equal(loaded.predict_output(frame.to_numpy()), expected)  # by order


def test_a_missing_column_is_named():
    model, frame = _fitted()
    with pytest.raises(ValueError, match=r"lacks the column 'b'|lacks the column b"):
        model.predict(frame[["a", "c"]])


def test_a_saved_list_of_names_that_does_not_fit_the_model_is_refused():
    config = fcnet.Sequential([fcnet.Dense(3, 2, rng=0)]).get_config()
    config["feature_names"] = ["a", "b"]
    with pytest.raises(ValueError, match="2 feature_names for a first layer of 3"):
        fcnet.Sequential.from_config(config)
