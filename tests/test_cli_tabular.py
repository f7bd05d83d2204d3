"""The fcnet command on tables as they come: text columns, empty fields, --categorical, --drop,
an Embedding for a column of many categories, and raw rows to predict and evaluate."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import fcnet
from fcnet.cli import main

pd = pytest.importorskip("pandas")
FAST = ["--epochs", "15", "--batch-size", "16", "--lr", "0.01", "--hidden", "16", "--seed", "0"]


def animals(m: int = 240, seed: int = 0, shops: int = 3) -> pd.DataFrame:
    """A small measurements table: two text columns, empty fields, a numeric target class."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, size=m)
    length = np.array([30.0, 45.0, 60.0])[kind] + 3 * rng.normal(size=m)
    island = np.array(["Biscoe", "Dream", "Torgersen"])[(kind + (rng.random(m) < 0.2)) % 3]
    sex = rng.choice(["male", "female"], size=m).astype(object)
    sex[rng.random(m) < 0.08] = None
    mass = 1000 * (kind + 3) + 200 * rng.normal(size=m)
    mass[rng.random(m) < 0.05] = np.nan
    shop = [f"shop{s}" for s in rng.integers(0, shops, size=m)]
    species = np.array(["Adelie", "Chinstrap", "Gentoo"])[kind]
    return pd.DataFrame(
        {
            "island": island,
            "length": length.round(2),
            "mass": mass.round(0),
            "sex": sex,
            "shop": shop,
            "species": species,
        }
    )


def test_train_predict_evaluate_on_raw_rows(tmp_path, capsys):
    table = animals()
    path = tmp_path / "animals.csv"
    table.to_csv(path, index=False)  # missing values become empty fields
    assert ",," in path.read_text()
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(path), "--target", "species", *FAST, "--out", str(model_path)]) == 0
    out = capsys.readouterr().out
    roles = "2 numeric, 3 categorical (one-hot 12 columns), 2 with missing values"
    assert f"columns: {roles}; 15 inputs" in out
    assert "test accuracy: " in out and float(out.split("test accuracy: ")[1]) >= 0.9
    model = fcnet.load(model_path)
    assert isinstance(model.preprocessing, fcnet.preprocessing.TabularEncoder)

    new = table.drop(columns="species").iloc[:6, ::-1].assign(note="extra")
    new.loc[0, "island"] = "Atlantis"
    new.loc[1, "mass"] = np.nan
    rows = tmp_path / "new.csv"
    new.to_csv(rows, index=False)
    assert main(["predict", str(model_path), str(rows), "--proba"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("fcnet: warning: ") == 1 and "'island': 1" in captured.err
    predictions = list(csv.reader(io.StringIO(captured.out)))
    assert predictions[0] == ["prediction", "Adelie", "Chinstrap", "Gentoo"]
    with pytest.warns(UserWarning):
        expected = model.predict(pd.read_csv(rows))
    assert [row[0] for row in predictions[1:]] == expected.tolist()

    assert main(["evaluate", str(model_path), str(path), "--target", "species"]) == 0
    assert "accuracy: " in capsys.readouterr().out
    new.drop(columns="length").to_csv(rows, index=False)
    assert main(["predict", str(model_path), str(rows)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fcnet: error: ") and "no column 'length'" in err and err.count("\n") == 1


def test_categorical_drop_and_a_target_with_missing_values(tmp_path, capsys):
    table = animals(seed=1)
    table["grade"] = np.arange(len(table)) % 4  # numbers, taken as categories by request
    table.loc[[3, 7], "species"] = None
    path = tmp_path / "a.csv"
    table.to_csv(path, index=False)
    argv = ["train", str(path), "--target", "species", *FAST, "--out", str(tmp_path / "m")]
    assert main([*argv, "--categorical", "grade", "--drop", "shop,sex"]) == 0
    captured = capsys.readouterr()
    assert (
        "fcnet: warning: load_csv:" in captured.err
        and "2 row(s) have no target value" in captured.err
    )
    assert "238 samples" in captured.out
    assert (
        "columns: 2 numeric, 2 categorical (one-hot 9 columns), 1 with missing values, 2 dropped"
        in captured.out
    )
    assert main([*argv, "--drop", "colour"]) == 2
    assert "--drop names no column colour; the columns: island, length" in capsys.readouterr().err


def test_a_column_of_many_categories_gets_an_embedding_first(tmp_path, capsys):
    path = tmp_path / "shops.csv"
    animals(shops=40).to_csv(path, index=False)
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(path), "--target", "species", *FAST, "--out", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert (
        "1 embedded: 41 codes" in out and "network embedding (1 column: 41 codes -> 13) then" in out
    )
    model = fcnet.load(model_path)
    assert isinstance(model.layers[0], fcnet.Embedding)
    assert main(["gradcheck", str(model_path), "--samples", "3"]) == 0
    assert "PASSED" in capsys.readouterr().out


def test_a_price_table_with_text_columns_trains_as_a_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    m = 300
    cut = rng.choice(["Fair", "Good", "Ideal"], size=m)
    carat = rng.uniform(0.2, 2.0, size=m).round(2)
    price = (1000 * carat * np.where(cut == "Ideal", 1.5, 1.0)).round(0).astype(int)
    path = tmp_path / "prices.csv"
    pd.DataFrame({"carat": carat, "cut": cut, "price": price}).to_csv(path, index=False)
    assert (
        main(
            [
                "train",
                str(path),
                "--target",
                "price",
                *FAST,
                "--quiet",
                "--out",
                str(tmp_path / "m"),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("test rmse: ")


def test_bytes_that_are_not_utf8_exit_2_naming_the_encoding(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("city,label\nZ\u00fcrich,0\nBern,1\n".encode("latin-1"))
    assert main(["train", str(path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not UTF-8 text" in err and "line 2" in err


def test_a_numbers_only_model_refuses_text_rows_clearly(tmp_path, capsys):
    table = animals()[["length", "mass", "species"]].dropna()
    path = tmp_path / "numbers.csv"
    table.to_csv(path, index=False)
    model_path = tmp_path / "m.safetensors"
    assert main(["train", str(path), *FAST, "--quiet", "--out", str(model_path)]) == 0
    assert fcnet.load(model_path).preprocessing.__class__.__name__ == "StandardScaler"
    table.assign(
        length=table["length"].astype(str).where(table.index != table.index[2], "long")
    ).to_csv(path, index=False)
    assert main(["predict", str(model_path), str(path)]) == 2
    assert "has text in column 'length' ('long', row 2)" in capsys.readouterr().err
