"""fcnet.preprocessing: StandardScaler and MinMaxScaler against scikit-learn, dtypes, config."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fcnet.preprocessing import MinMaxScaler, StandardScaler, make_scaler, scaler_from_config

SCALERS = [StandardScaler, MinMaxScaler]


def sample(dtype=np.float64) -> np.ndarray:
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[0.0, 5.0, -3.0, 100.0], scale=[1.0, 0.1, 10.0, 50.0], size=(40, 4))
    return X.astype(dtype)


@pytest.mark.parametrize(
    ("ours", "theirs"), [(StandardScaler, "StandardScaler"), (MinMaxScaler, "MinMaxScaler")]
)
def test_matches_scikit_learn(ours, theirs):
    sk = pytest.importorskip("sklearn.preprocessing")
    X = sample()
    reference = getattr(sk, theirs)().fit(X)
    scaler = ours().fit(X)
    X_new = sample() * 1.5 + 0.25
    np.testing.assert_allclose(scaler.transform(X_new), reference.transform(X_new), rtol=1e-12)
    np.testing.assert_allclose(
        scaler.inverse_transform(X_new), reference.inverse_transform(X_new), rtol=1e-12
    )
    X32 = X.astype(np.float32)
    np.testing.assert_allclose(
        ours().fit_transform(X32), getattr(sk, theirs)().fit_transform(X32), rtol=1e-4, atol=1e-5
    )


def test_standard_statistics():
    X = sample()
    scaler = StandardScaler().fit(X)
    np.testing.assert_allclose(scaler.mean, X.mean(axis=0))
    np.testing.assert_allclose(scaler.scale, X.std(axis=0))
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0)


@pytest.mark.parametrize("cls", SCALERS)
def test_constant_column_maps_to_zero(cls):
    X = sample()
    X[:, 1] = 0.1  # a float64 mean of identical 0.1s is not exactly 0.1
    X[:, 2] = 7.0
    scaler = cls().fit(X)
    Z = scaler.transform(X)
    assert (Z[:, 1] == 0.0).all() and (Z[:, 2] == 0.0).all()
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-12)
    stats = scaler.scale if cls is StandardScaler else scaler.data_range
    assert stats[1] == 1.0 and stats[2] == 1.0


def test_minmax_range():
    X = sample()
    Z = MinMaxScaler().fit_transform(X)
    np.testing.assert_allclose(Z.min(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(Z.max(axis=0), 1.0)


@pytest.mark.parametrize("cls", SCALERS)
def test_dtype_kept_and_input_untouched(cls):
    X32 = sample(np.float32)
    before = X32.copy()
    scaler = cls().fit(X32)
    out = scaler.transform(X32)
    assert out.dtype == np.float32 and scaler.inverse_transform(out).dtype == np.float32
    np.testing.assert_array_equal(X32, before)
    assert scaler.transform(X32.astype(np.float64)).dtype == np.float64
    assert scaler.transform(np.ones((2, 4), dtype=np.int64)).dtype == np.float32  # the default
    assert scaler.fit_transform([[1, 2, 3, 4], [5, 6, 7, 8]]).dtype == np.float32


@pytest.mark.parametrize("cls", SCALERS)
def test_errors(cls):
    name = cls.__name__
    with pytest.raises(RuntimeError) as info:
        cls().transform(np.ones((2, 4)))
    assert str(info.value) == f"{name}: call fit before transform."
    with pytest.raises(RuntimeError, match="call fit before inverse_transform"):
        cls().inverse_transform(np.ones((2, 4)))
    scaler = cls().fit(sample())
    with pytest.raises(ValueError) as info:
        scaler.transform(np.ones((10, 3)))
    assert str(info.value) == f"{name}: expected X of shape (m, 4), got (10, 3)."
    with pytest.raises(ValueError, match="NaN at row 0, column 1"):
        scaler.transform(np.array([[0.0, np.nan, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="2-D"):
        cls().fit(np.ones(3))
    with pytest.raises(TypeError, match="hold numbers"):
        cls().fit(np.array([["a"]]))


@pytest.mark.parametrize("cls", SCALERS)
def test_config_round_trip_is_exact(cls):
    scaler = cls().fit(sample() * np.pi)
    config = json.loads(json.dumps(scaler.get_config()))
    assert config["type"] == cls.__name__ and config["n_features"] == 4
    restored = scaler_from_config(config)
    assert type(restored) is cls and repr(restored) == f"{cls.__name__}(n_features=4)"
    for key in ("mean", "scale") if cls is StandardScaler else ("data_min", "data_range"):
        np.testing.assert_array_equal(getattr(restored, key), getattr(scaler, key))
    X = sample(np.float32)
    np.testing.assert_array_equal(restored.transform(X), scaler.transform(X))
    unfitted = cls.from_config(cls().get_config())
    assert unfitted.n_features is None


def test_config_errors():
    config = StandardScaler().fit(sample()).get_config()
    with pytest.raises(
        ValueError,
        match="MinMaxScaler: expected config of type 'MinMaxScaler', got 'StandardScaler'",
    ):
        MinMaxScaler.from_config(config)
    with pytest.raises(ValueError, match=r"config\['scale'\] of length 4"):
        StandardScaler.from_config({**config, "scale": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"config\['scale'\] > 0"):
        StandardScaler.from_config({**config, "scale": [1.0, 0.0, 1.0, 1.0]})
    with pytest.raises(ValueError, match="list of numbers"):
        StandardScaler.from_config({**config, "mean": "oops"})
    with pytest.raises(ValueError, match="unknown scaler type 'Robust'; expected one of"):
        scaler_from_config({"type": "Robust"})
    with pytest.raises(TypeError, match="expected a dict"):
        scaler_from_config(["StandardScaler"])


def test_make_scaler():
    assert isinstance(make_scaler("standard"), StandardScaler)
    assert isinstance(make_scaler("MinMax"), MinMaxScaler)
    assert make_scaler("none") is None and make_scaler(None) is None
    with pytest.raises(ValueError) as info:
        make_scaler("robust")
    assert "'minmax', 'none', 'standard'" in str(info.value)
    with pytest.raises(TypeError):
        make_scaler(3)


@settings(max_examples=50, deadline=None)
@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 4)),
        elements=st.floats(-1e6, 1e6, allow_nan=False),
    ),
    cls=st.sampled_from(SCALERS),
)
def test_inverse_undoes_transform(X, cls):
    scaler = cls().fit(X)
    Z = scaler.transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_a_config_whose_n_features_disagrees_with_its_statistics_is_refused(cls):
    config = cls().fit(np.arange(12.0).reshape(3, 4)).get_config()
    config["n_features"] = 5
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: expected config\[.*\] of length 5"):
        cls.from_config(config)
    config["n_features"] = "4"
    with pytest.raises(ValueError, match=r"n_features'\] to be a positive integer, got '4'"):
        cls.from_config(config)
