"""benchmarks/tabular.py: both networks train at its settings on its synthetic table (small), and
the table has the columns it describes."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "tabular_benchmark", ROOT / "benchmarks" / "tabular.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_synthetic_table_is_mixed(bench):
    X, y = bench.synthetic(m=3_000, seed=1)
    assert list(X.columns) == ["n0", "n1", "n2", "n3", "size", "month", "shop"]
    assert bench.text_columns(X) == ["size", "month", "shop"]
    assert X["shop"].nunique() > 1_000 and X[["n1", "n2"]].isna().mean().between(0.07, 0.13).all()
    assert set(np.unique(y)) == {0, 1}


def test_fcnet_and_the_scikit_learn_pipeline_train_at_the_same_settings(bench):
    pytest.importorskip("sklearn")
    X, y = bench.synthetic(m=3_000, seed=1)
    split = bench.split_table(X, y, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for run in (bench.run_fcnet, bench.run_sklearn):
            accuracy, seconds = run(split, "classification", (16,), 3, 64, 3e-3, 0)
            assert 0.6 < accuracy <= 1.0 and seconds > 0
    regression = (X.iloc[:, :4].fillna(0), X["n0"].to_numpy() * 3.0 + 1.0)
    split = bench.split_table(*regression, 0)
    rmse, _ = bench.run_fcnet(split, "regression", (16,), 20, 64, 3e-3, 0)
    assert rmse < 1.5  # the target's std is 3
