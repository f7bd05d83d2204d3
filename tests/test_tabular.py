"""fcnet.preprocessing.TabularEncoder and tables through the model: roles, imputation, scaling,
one-hot with its <other> slot, codes for an Embedding, the saved config, DataFrames in fit,
predict and evaluate, and the bad inputs a real table brings."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import fcnet
from fcnet.preprocessing import TabularEncoder, scaler_from_config

pd = pytest.importorskip("pandas")


def small_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "carat": [1.0, np.nan, 3.0, 5.0],
            "cut": ["Ideal", "Good", "Ideal", None],
            "flag": [True, False, True, True],
            "n": ["1", "2", " 3", "NA"],  # text that reads as numbers: numeric
        }
    )


def test_roles_imputation_scaling_and_names_by_hand():
    encoder = TabularEncoder().fit(small_table())
    assert encoder.roles == {
        "carat": "numeric",
        "cut": "categorical",
        "flag": "boolean",
        "n": "numeric",
    }
    assert encoder.feature_names_out() == [
        "carat",
        "carat_missing",
        "cut=<missing>",
        "cut=Good",
        "cut=Ideal",
        "cut=<other>",
        "flag",
        "n",
        "n_missing",
    ]
    Z = encoder.transform(small_table())
    # carat: median of 1, 3, 5 is 3; imputed column 1, 3, 3, 5: mean 3, population std sqrt(2)
    np.testing.assert_allclose(Z[:, 0], np.array([-2.0, 0.0, 0.0, 2.0]) / np.sqrt(2.0))
    np.testing.assert_array_equal(Z[:, 1], [0, 1, 0, 0])
    np.testing.assert_array_equal(
        Z[:, 2:6], [[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]]
    )
    np.testing.assert_array_equal(Z[:, 6], [1, 0, 1, 1])
    # n: median of 1, 2, 3 is 2; column 1, 2, 3, 2: mean 2, std sqrt(0.5)
    np.testing.assert_allclose(Z[:, 7], np.array([-1.0, 0.0, 1.0, 0.0]) / np.sqrt(0.5))
    assert Z.dtype == np.float64 and encoder.n_features_out == 9
    assert encoder.describe() == (
        "2 numeric, 1 boolean, 1 categorical (one-hot 4 columns), 3 with missing values"
    )


def test_minmax_none_and_a_constant_column():
    frame = pd.DataFrame({"a": [2.0, 4.0, 6.0], "c": [7.0, 7.0, 7.0]})
    np.testing.assert_allclose(
        TabularEncoder(scale="minmax").fit_transform(frame)[:, 0], [0, 0.5, 1]
    )
    np.testing.assert_array_equal(
        TabularEncoder(scale="none").fit_transform(frame), frame.to_numpy()
    )
    np.testing.assert_array_equal(TabularEncoder().fit_transform(frame)[:, 1], [0, 0, 0])


def test_overrides_categorical_numeric_and_drop():
    frame = pd.DataFrame({"zip": [10, 20, 10, 30], "v": ["1", "x", "2", "3"], "id": list("abcd")})
    with pytest.warns(UserWarning, match=r"column 'v' is numeric by request; 1 text value"):
        encoder = TabularEncoder(categorical=["zip"], numeric=["v"], drop=["id"]).fit(frame)
    assert encoder.roles == {"zip": "categorical", "v": "numeric", "id": "dropped"}
    assert encoder.feature_names_out()[:4] == ["zip=10", "zip=20", "zip=30", "zip=<other>"]
    assert "v_missing" in encoder.feature_names_out()
    with pytest.raises(ValueError, match=r"categorical names 'nope', not columns of X"):
        TabularEncoder(categorical=["nope"]).fit(frame)
    with pytest.raises(ValueError, match=r"columns 'zip' are in both categorical and drop"):
        TabularEncoder(categorical=["zip"], drop=["zip"])
    with pytest.raises(TypeError, match="list of column names"):
        TabularEncoder(drop="id")


def test_frequency_floor_and_unseen_categories_share_other_with_one_warning():
    train = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 3 + ["rare"], "d": ["x", "y", "z"] * 3})
    encoder = TabularEncoder(min_frequency=2).fit(train)
    assert encoder.feature_names_out()[:3] == ["c=a", "c=b", "c=<other>"]
    new = pd.DataFrame({"d": ["x", "w", "w"], "c": ["rare", "new", "a"], "extra": [1, 2, 3]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Z = encoder.transform(new)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "3 value(s) in 2 column(s) are categories not seen in training" in message
    assert "'c': 1" in message and "'d': 2" in message  # 'rare' was seen: not counted
    np.testing.assert_array_equal(Z[:, :3], [[0, 0, 1], [0, 0, 1], [1, 0, 0]])


def test_many_categories_become_codes_for_an_embedding():
    rng = np.random.default_rng(0)
    labels = np.array([f"k{i}" for i in range(10_000)])
    frame = pd.DataFrame(
        {"x": rng.normal(size=20_000), "key": labels[rng.integers(0, 10_000, 20_000)]}
    )
    encoder = TabularEncoder().fit(frame)
    assert encoder.feature_names_out() == ["x", "key"] and encoder.code_columns == [1]
    kept = encoder.specs[1]["categories"]
    assert encoder.cardinalities == [len(kept) + 1] and len(kept) > 8_000
    codes = encoder.transform(frame)[:, 1]
    assert codes.min() >= 0 and codes.max() < len(kept) and np.all(codes == np.round(codes))
    np.testing.assert_array_equal(codes[:3], [kept.index(v) for v in frame["key"][:3]])
    assert "1 categorical (1 embedded: " in encoder.describe()
    small = TabularEncoder(max_onehot=1).fit(small_table())
    assert small.code_columns == [2] and small.cardinalities == [
        4
    ]  # <missing>, Good, Ideal + other


def test_an_identifier_column_is_named_in_a_warning():
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(60)], "v": np.arange(60.0)})
    with pytest.warns(UserWarning, match=r"column 'id' holds a different value in each of its 60"):
        TabularEncoder().fit(frame)


def test_bad_inputs_each_get_a_clear_message_or_a_documented_behaviour():
    frame = pd.DataFrame(
        {"empty": [None, np.nan, ""], "one": ["a", "a", "a"], "v": [1.0, 2.0, 3.0]}
    )
    with pytest.warns(
        UserWarning, match=r"column 'empty' is missing in all 3 rows; it is left out"
    ):
        encoder = TabularEncoder().fit(frame)
    assert encoder.roles["empty"] == "empty" and "empty" not in "".join(encoder.feature_names_out())
    # one category: a constant one-hot column and the <other> slot
    np.testing.assert_array_equal(encoder.transform(frame)[:, :2], [[1, 0]] * 3)
    with pytest.raises(
        ValueError, match=r"column 'v' was numeric in training; got text 'abc' at row 1"
    ):
        encoder.transform(pd.DataFrame({"one": ["a", "a"], "v": [1.0, "abc"]}))
    with pytest.raises(
        ValueError, match=r"X has no column 'v'; the encoder was fitted on 'one', 'v'"
    ):
        encoder.transform(pd.DataFrame({"one": ["a"]}))
    with pytest.raises(ValueError, match=r"column 'x' row 1: expected a finite number, got inf"):
        TabularEncoder().fit(pd.DataFrame({"x": [1.0, np.inf]}))
    with pytest.raises(ValueError, match="no column of X is left to encode"):
        with pytest.warns(UserWarning):
            TabularEncoder().fit(pd.DataFrame({"e": [None, None]}))
    with pytest.raises(RuntimeError, match="call fit before transform"):
        TabularEncoder().transform(frame)
    with pytest.raises(TypeError, match="holds dates or times"):
        TabularEncoder().fit(pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-02-01"])}))


def test_text_in_training_and_numbers_at_prediction_match_by_their_text():
    encoder = TabularEncoder().fit(pd.DataFrame({"grade": ["1", "2", "x"], "v": [0.0, 1.0, 2.0]}))
    with pytest.warns(UserWarning, match=r"1 value\(s\) in 1 column\(s\).*'grade': 1"):
        Z = encoder.transform(pd.DataFrame({"grade": [2, 1.0, 7], "v": [0.0, 0.0, 0.0]}))
    names = encoder.feature_names_out()
    one_hot = Z[:, : names.index("grade=<other>") + 1]
    np.testing.assert_array_equal(one_hot, [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])


def test_arrays_are_columns_by_position():
    X = np.array([[1.0, "a"], [2.0, "b"], [np.nan, "a"]], dtype=object)
    encoder = TabularEncoder().fit(X)
    assert encoder.feature_names_out() == ["0", "0_missing", "1=a", "1=b", "1=<other>"]
    np.testing.assert_array_equal(
        encoder.transform(X), encoder.transform(pd.DataFrame(X, columns=["0", "1"]))
    )
    with pytest.raises(ValueError, match="expected an array of 2 columns"):
        encoder.transform(np.zeros((2, 3)))


def test_config_is_plain_json_and_round_trips_exactly():
    encoder = TabularEncoder(min_frequency=2, max_onehot=1).fit(small_table())
    text = json.dumps(encoder.get_config())  # plain JSON: nothing pickled
    again = scaler_from_config(json.loads(text))
    assert isinstance(again, TabularEncoder) and again.get_config() == encoder.get_config()
    np.testing.assert_array_equal(again.transform(small_table()), encoder.transform(small_table()))
    unfitted = scaler_from_config(TabularEncoder(drop=["n"]).get_config())
    assert not unfitted.fitted and unfitted.drop == ["n"]
    broken = json.loads(text)
    broken["specs"][0]["scale"] = -1.0
    with pytest.raises(ValueError, match="expected a scale > 0 for 'carat'"):
        scaler_from_config(broken)
    broken["specs"][0] = {"name": "carat", "role": "wizard"}
    with pytest.raises(ValueError, match="role numeric, boolean, categorical or empty"):
        scaler_from_config(broken)


# --- through the model -------------------------------------------------------------------------
def mixed_table(m: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numeric columns (one with missing values), a text column and a 30-category one; the
    class depends on all of them."""
    x = rng.normal(size=m)
    colour = rng.choice(["red", "green", "blue"], size=m)
    shop = rng.integers(0, 30, size=m)
    effect = np.linspace(-1.5, 1.5, 30)[rng.permutation(30)]
    score = 1.5 * x + np.where(colour == "red", 1.0, -0.5) + effect[shop]
    noisy = rng.normal(size=m)
    noisy[rng.random(m) < 0.2] = np.nan
    frame = pd.DataFrame(
        {"x": x, "noisy": noisy, "colour": colour, "shop": [f"s{s}" for s in shop]}
    )
    return frame, np.where(score > 0, "yes", "no")


def test_a_mixed_table_trains_saves_loads_and_predicts_on_shuffled_extra_columns(tmp_path):
    rng = np.random.default_rng(0)
    frame, y = mixed_table(1200, rng)
    encoder = TabularEncoder(max_onehot=8).fit(frame)
    assert encoder.code_columns == [7]  # x, noisy, noisy_missing, colour (3 + other), shop
    embedding = fcnet.Embedding.from_encoder(encoder, rng=1)
    model = fcnet.Sequential(
        [embedding, fcnet.Dense(embedding.n_out, 16, "relu", rng=2), fcnet.Dense(16, 2, rng=3)]
    )
    model.preprocessing = TabularEncoder(max_onehot=8)  # unfitted: fit fits it first
    model.fit(frame[:1000], y[:1000], epochs=25, batch_size=32, lr=3e-3, rng=0, verbose=0)
    assert model.preprocessing.fitted and model.preprocessing.code_columns == [7]
    accuracy = model.evaluate(frame[1000:], y[1000:])["accuracy"]
    assert accuracy >= 0.9, accuracy
    fcnet.save(model, tmp_path / "m.safetensors")
    loaded = fcnet.load(tmp_path / "m.safetensors")
    shuffled = frame[1000:].sample(frac=1.0, random_state=0)[["shop", "colour", "noisy", "x"]]
    shuffled = shuffled.assign(comment="extra column")
    np.testing.assert_array_equal(
        loaded.predict_proba(shuffled), model.predict_proba(frame.loc[shuffled.index])
    )
    with pytest.raises(ValueError, match=r"X has no column 'x'"):
        loaded.predict(shuffled.drop(columns="x"))


def test_dataframes_without_an_encoder():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=64), "b": rng.normal(size=64) > 0})
    y = (frame["a"] > 0).astype(int).to_numpy()
    model = fcnet.Sequential([fcnet.Dense(2, 2, rng=0)])
    model.fit(frame, y, epochs=2, rng=0, verbose=0)  # numbers and booleans: used as they are
    np.testing.assert_array_equal(model.predict(frame), model.predict(frame.to_numpy(float)))
    assert set(model.evaluate(frame, y)) == {"loss", "accuracy"}
    text = frame.assign(b=np.where(frame["b"], "on", "off"))
    with pytest.raises(
        TypeError, match=r"predict: X has columns that are not numbers \('b'\).*TabularEncoder"
    ):
        model.predict(text)
    gaps = frame.assign(a=np.where(frame["a"] > 1, np.nan, frame["a"]))
    with pytest.raises(ValueError, match=r"fit: X has missing values in columns 'a'"):
        model.fit(gaps, y, epochs=1, verbose=0)
    model.preprocessing = TabularEncoder()
    with pytest.raises(RuntimeError, match="TabularEncoder that was never fitted"):
        model.predict(frame)


def test_palmer_penguins_as_they_come(tmp_path):
    penguins = pytest.importorskip("palmerpenguins").load_penguins()
    X, y = penguins.drop(columns="species"), penguins["species"].to_numpy()
    assert X.isna().sum().sum() == 19 and {"island", "sex"} <= set(X.columns)
    rows = np.random.default_rng(0).permutation(len(X))
    train, test = rows[:260], rows[260:]
    encoder = TabularEncoder().fit(X.iloc[train])
    model = fcnet.Sequential(
        [fcnet.Dense(encoder.n_features_out, 16, "relu", rng=0), fcnet.Dense(16, 3, rng=1)]
    )
    model.preprocessing = encoder
    model.fit(X.iloc[train], y[train], epochs=40, batch_size=16, lr=1e-2, rng=0, verbose=0)
    assert model.evaluate(X.iloc[test], y[test])["accuracy"] >= 0.97
    fcnet.save(model, tmp_path / "penguins.safetensors")
    loaded = fcnet.load(tmp_path / "penguins.safetensors")
    np.testing.assert_array_equal(loaded.predict(X.iloc[test, ::-1]), model.predict(X.iloc[test]))


def _encoder_model(rng_layers: int = 0) -> fcnet.Sequential:
    model = fcnet.Sequential(
        [fcnet.Dense(7, 8, "relu", rng=rng_layers), fcnet.Dense(8, 2, rng=rng_layers + 1)]
    )
    model.preprocessing = TabularEncoder()  # x, noisy, noisy_missing, colour (3 + other)
    return model


def test_fit_with_a_validation_split_fits_the_encoder_on_the_training_rows_alone(monkeypatch):
    """The held-out rows teach the encoder nothing: its medians, scales and categories are
    those of the training rows, as an encoder fitted on them by hand has them."""
    from fcnet.train import Trainer

    held = []
    original = Trainer._hold_out

    def spy(self, train_idx):
        held.append(np.array(train_idx))
        return original(self, train_idx)

    monkeypatch.setattr(Trainer, "_hold_out", spy)
    frame, y = mixed_table(300, np.random.default_rng(3))
    frame = frame.drop(columns="shop")
    model = _encoder_model()
    model.fit(frame, y, epochs=2, validation_split=0.3, rng=0, verbose=0)
    (train_idx,) = held
    assert len(train_idx) == 210
    by_hand = TabularEncoder().fit(frame.iloc[train_idx])
    assert model.preprocessing.get_config() == by_hand.get_config()
    assert model.preprocessing.get_config() != TabularEncoder().fit(frame).get_config()


def test_a_resumed_run_refits_the_encoder_on_the_checkpoints_training_rows(tmp_path):
    """Another seed at --resume draws other held-out rows, but the checkpoint's count: the
    encoder is fitted on its training rows and the run ends as the uninterrupted one."""
    frame, y = mixed_table(300, np.random.default_rng(3))
    frame = frame.drop(columns="shop")
    options = dict(validation_split=0.3, batch_size=32, verbose=0)
    whole = _encoder_model()
    whole.fit(frame, y, epochs=4, rng=0, **options)
    path = tmp_path / "run.ckpt"
    _encoder_model().fit(frame, y, epochs=2, rng=0, checkpoint=path, **options)
    resumed = _encoder_model()
    resumed.fit(frame, y, epochs=4, rng=1, checkpoint=path, resume=True, **options)
    assert resumed.preprocessing.get_config() == whole.preprocessing.get_config()
    for key, value in whole.params().items():
        np.testing.assert_array_equal(resumed.params()[key], value, err_msg=key)
