"""fcnet.data: the bundled digits, the CSV / Parquet / NPZ / IDX loaders, labels and task guess.

Every bad file must raise DataError (a ValueError) with a one-line message naming the loader, the
file and what was wrong; hostile bytes are fuzzed at the end.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import struct
import sys
import tempfile
import tracemalloc
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fcnet.data import (
    DataError,
    Dataset,
    decode_labels,
    encode_labels,
    infer_task,
    load,
    load_csv,
    load_digits,
    load_idx,
    load_npz,
    load_parquet,
)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def idx_bytes(values: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file made by hand: 00 00 <type> <ndim>, big-endian uint32 dims, big-endian data."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = struct.pack(">BBBB", 0, 0, code, values.ndim)
    header += struct.pack(f">{values.ndim}I", *values.shape)
    return header + np.asarray(values, dtype=dtype).tobytes()


@contextlib.contextmanager
def raises_data_error(match: str, *fragments: str) -> Iterator[pytest.ExceptionInfo]:
    """pytest.raises for DataError whose message matches, is one line and holds each fragment."""
    with pytest.raises(DataError, match=match) as info:
        yield info
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


# --- bundled digits -----------------------------------------------------------------------------


def test_digits_shapes_ranges_and_unpacking():
    dataset = load_digits()
    X, y = dataset
    assert X.shape == (1797, 64) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(X * 16)) <= set(range(17))  # pixel intensities 0..16, divided by 16
    assert sorted(np.unique(y)) == list(range(10))
    assert len(dataset.feature_names) == 64 and dataset.target_name == "digit"


def test_digits_match_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    reference = datasets.load_digits()
    X, y = load_digits()
    np.testing.assert_array_equal(np.bincount(y), np.bincount(reference.target))
    np.testing.assert_array_equal(X * 16, reference.data)
    np.testing.assert_array_equal(y, reference.target)


def test_digits_file_is_small_and_pickle_free():
    import importlib.resources

    resource = importlib.resources.files("fcnet") / "datasets" / "digits.npz"
    content = resource.read_bytes()
    assert len(content) < 100_000
    with np.load(io.BytesIO(content), allow_pickle=False) as archive:
        assert archive["X"].dtype == np.uint8 and archive["X"].shape == (1797, 64)
        assert archive["y"].dtype == np.uint8


# --- Dataset ------------------------------------------------------------------------------------


def test_dataset_is_frozen_and_validated():
    dataset = Dataset(np.ones((3, 2), np.float32), np.arange(3), ["a", "b"], "t")
    assert dataset.n_samples == 3 and dataset.n_features == 2
    assert "float32 (3, 2)" in repr(dataset)
    with pytest.raises(AttributeError):
        dataset.X = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"expected y of shape \(3,\)"):
        Dataset(np.ones((3, 2), np.float32), np.arange(4), ["a", "b"])
    with pytest.raises(ValueError, match="expected 2 feature names"):
        Dataset(np.ones((3, 2), np.float32), None, ["a"])


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_with_header_and_integer_target(tmp_path):
    path = write(tmp_path, "a.csv", "age,height,label\n1,2.5,0\n3,4.5,1\n\n5,6,1\n")
    dataset = load_csv(path)
    np.testing.assert_array_equal(dataset.X, [[1, 2.5], [3, 4.5], [5, 6]])
    assert dataset.X.dtype == np.float32 and dataset.X.flags.c_contiguous
    assert dataset.y.dtype == np.int64 and dataset.y.tolist() == [0, 1, 1]
    assert dataset.feature_names == ["age", "height"] and dataset.target_name == "label"


def test_csv_target_by_name_index_and_negative_index(tmp_path):
    path = write(tmp_path, "a.csv", "a,b,c\n1,2,3\n4,5,6\n")
    by_name = load_csv(path, target="a")
    assert by_name.feature_names == ["b", "c"] and by_name.y.tolist() == [1, 4]
    by_index = load_csv(Path(path), target=1)
    assert by_index.target_name == "b" and by_index.X.tolist() == [[1, 3], [4, 6]]
    assert load_csv(str(path), target=-3).target_name == "a"


def test_csv_without_header(tmp_path):
    path = write(tmp_path, "a.csv", "1,2,0\n3,4,1\n")
    dataset = load_csv(path)
    assert dataset.feature_names == ["col0", "col1"] and dataset.target_name == "col2"
    assert dataset.X.tolist() == [[1, 2], [3, 4]] and dataset.y.tolist() == [0, 1]
    # a string of digits (as the CLI passes --target 0) is an index when no column has that name
    assert load_csv(path, target="0").y.tolist() == [1, 3]


def test_csv_string_labels_with_and_without_header(tmp_path):
    headed = write(tmp_path, "h.csv", "x,y,species\n1,2,setosa\n3,4, virginica\n")
    dataset = load_csv(headed)
    assert dataset.y.dtype.kind == "U" and dataset.y.tolist() == ["setosa", "virginica"]
    bare = write(tmp_path, "b.csv", "1,2,setosa\n3,4,virginica\n")
    dataset = load_csv(bare)
    assert dataset.X.shape == (2, 2) and dataset.y.tolist() == ["setosa", "virginica"]


def test_csv_float_and_integral_float_targets(tmp_path):
    floats = load_csv(write(tmp_path, "f.csv", "a,t\n1,0.5\n2,1.25\n"))
    assert floats.y.dtype == np.float64 and floats.y.tolist() == [0.5, 1.25]
    integral = load_csv(write(tmp_path, "i.csv", "a,t\n1,1.0\n2,2.0\n"))
    assert integral.y.dtype == np.int64 and integral.y.tolist() == [1, 2]


def test_csv_header_override_tab_quotes_and_bom(tmp_path):
    path = write(tmp_path, "a.csv", "10,20,30\n1,2,3\n")
    assert load_csv(path, header=True).feature_names == ["10", "20"]
    assert load_csv(path, header=False).X.shape == (2, 2)
    tsv = write(tmp_path, "a.tsv", "a\tb\tc\n1\t2\tx\n")
    assert load(tsv).y.tolist() == ["x"]
    quoted = write(tmp_path, "q.csv", '\ufeff"a","b"\n"1","cat, dog"\n')
    dataset = load_csv(quoted)
    assert dataset.feature_names == ["a"] and dataset.y.tolist() == ["cat, dog"]
    with pytest.raises(ValueError, match="expected header to be 'infer', True or False"):
        load_csv(path, header="yes")


def test_csv_missing_file_and_directory(tmp_path):
    with raises_data_error("no such file", "load_csv", "nope.csv"):
        load_csv(tmp_path / "nope.csv")
    with raises_data_error("not a regular file", "load_csv"):
        load_csv(tmp_path)
    with pytest.raises(TypeError, match="expected a path"):
        load_csv(42)


def test_csv_empty_and_header_only(tmp_path):
    with raises_data_error("is empty", "'", "e.csv"):
        load_csv(write(tmp_path, "e.csv", ""))
    with raises_data_error("is empty"):
        load_csv(write(tmp_path, "blank.csv", "\n\n  \n"))
    with raises_data_error("has a header but no data rows", "h.csv"):
        load_csv(write(tmp_path, "h.csv", "a,b,c\n"))


def test_csv_ragged_row(tmp_path):
    text = "a,b,c,d\n1,2,3,4\n5,6,7,8\n\n1,2,3\n"
    path = write(tmp_path, "x.csv", text)
    with raises_data_error(r"line 5 has 3 fields, expected 4\.$"):
        load_csv(path)
    with pytest.raises(DataError) as info:
        load_csv(path)
    assert str(info.value) == f"load_csv: '{path}' line 5 has 3 fields, expected 4."


def test_csv_text_and_missing_features_become_a_table(tmp_path):
    text = "name,age,label\n" + "1,2,0\n" * 5 + "1,abc,1\n"
    dataset = load_csv(write(tmp_path, "n.csv", text))
    assert dataset.is_table and dataset.feature_names == ["name", "age"]
    assert dataset.X["name"].tolist() == [1.0] * 6 and dataset.X["age"].dtype != np.float64
    assert dataset.X["age"].tolist() == ["2"] * 5 + ["abc"] and dataset.y.tolist() == [0] * 5 + [1]
    gaps = load_csv(write(tmp_path, "m.csv", "name,age,label\n1,2,0\n1,,1\n3,NA,0\n4, nan ,1\n"))
    assert gaps.is_table and gaps.X["age"].dtype == np.float64
    np.testing.assert_array_equal(gaps.X["age"], [2.0, np.nan, np.nan, np.nan])
    with raises_data_error("column 'label' holds no target value in any of its 1 rows"):
        load_csv(write(tmp_path, "t.csv", "name,age,label\n1,2,\n"))
    with raises_data_error("column 'age': expected a finite number, got inf"):
        load_csv(write(tmp_path, "inf_x.csv", "name,age,label\n1,inf,0\n"))
    with raises_data_error("column 'label': expected a finite number, got 'inf'"):
        load_csv(write(tmp_path, "inf.csv", "name,age,label\n1,2,inf\n1,2,3\n"))
    with raises_data_error("within float32 range", "got 1e+300"):
        load_csv(write(tmp_path, "big.csv", "name,age,label\n1,1e300,0\n"))
    with raises_data_error("line 3, column 'age': expected a number within float32 range"):
        load_csv(write(tmp_path, "big2.csv", "name,age,label\n1,,0\n1,-1e39,0\n"))


def test_csv_rows_without_a_target_are_left_out_with_one_warning(tmp_path):
    text = "a,b,label\n1,x,0\n2,y,\n\n3,z,NA\n4,x,1\n"
    with pytest.warns(UserWarning, match=r"2 row\(s\) have no target value in column 'label'") as w:
        dataset = load_csv(write(tmp_path, "t.csv", text))
    assert len(w) == 1 and "line 3, line 5" in str(w[0].message)
    assert dataset.y.tolist() == [0, 1] and dataset.X["a"].tolist() == [1.0, 4.0]
    assert dataset.X["b"].tolist() == ["x", "x"]


def test_csv_mostly_numbers_warns_about_the_text_in_it(tmp_path):
    text = "age,label\n" + "".join(f"{i},{i % 2}\n" for i in range(20)) + "abc,1\n"
    with pytest.warns(UserWarning, match=r"column 'age' holds numbers but for 1 value\(s\) "):
        dataset = load_csv(write(tmp_path, "typo.csv", text))
    assert dataset.X["age"].tolist()[-1] == "abc"


def test_csv_the_price_table_with_text_columns(tmp_path):
    """The first rows of a diamonds price table: three text columns, read as they are."""
    text = (
        '"carat","cut","color","clarity","depth","price"\n'
        '0.23,"Ideal","E","SI2",61.5,326\n0.21,"Premium","E","SI1",59.8,326\n'
        '0.23,"Good","E","VS1",56.9,327\n0.29,"Premium","I","VS2",62.4,334\n'
    )
    dataset = load(write(tmp_path, "diamonds.csv", text), target="price")
    assert dataset.is_table and dataset.feature_names == [
        "carat",
        "cut",
        "color",
        "clarity",
        "depth",
    ]
    assert dataset.X["cut"].tolist() == ["Ideal", "Premium", "Good", "Premium"]
    assert dataset.X["carat"].dtype == np.float64 and dataset.y.tolist() == [326, 326, 327, 334]


def test_csv_non_utf8_bytes_name_the_byte_and_line_and_other_encodings_read(tmp_path):
    path = write(
        tmp_path, "latin.csv", "name,city,label\n1,Z\u00fcrich,0\n2,Bern,1\n".encode("latin-1")
    )
    with raises_data_error(r"is not UTF-8 text.*b'\\xfc' at byte 19 \(line 2\)", "encoding="):
        load_csv(path)
    assert load_csv(path, encoding="latin-1").X["city"].tolist() == ["Z\u00fcrich", "Bern"]


def test_csv_target_absent_lists_columns(tmp_path):
    path = write(tmp_path, "a.csv", "a,b,c\n1,2,3\n")
    with raises_data_error("has no column 'label'", "expected one of 'a', 'b', 'c'"):
        load_csv(path, target="label")
    with raises_data_error(r"expected a target index in \[-3, 2\], got 3"):
        load_csv(path, target=3)
    with pytest.raises(TypeError, match="column name or an integer index"):
        load_csv(path, target=True)


def test_csv_one_column_duplicates_and_binary(tmp_path):
    with raises_data_error("has 1 column; expected at least 2", "one.csv"):
        load_csv(write(tmp_path, "one.csv", "a\n1\n2\n"))
    with raises_data_error("expected unique column names, got 'a' more than once"):
        load_csv(write(tmp_path, "dup.csv", "a,a,b\n1,2,3\n"))
    with raises_data_error("is not UTF-8 text", "bin.csv"):
        load_csv(write(tmp_path, "bin.csv", b"a,b\n1,\xff\xfe\n"))


# --- Parquet ------------------------------------------------------------------------------------


@pytest.fixture
def pandas():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    return pd


def test_parquet_round_trip_with_string_target(tmp_path, pandas):
    frame = pandas.DataFrame(
        {"a": [1.0, 2.0, 3.0], "b": [1, 2, 3], "flag": [True, False, True], "kind": list("xyx")}
    )
    frame.to_parquet(tmp_path / "d.parquet")
    dataset = load(tmp_path / "d.parquet")
    assert dataset.feature_names == ["a", "b", "flag"] and dataset.target_name == "kind"
    np.testing.assert_array_equal(dataset.X, [[1, 1, 1], [2, 2, 0], [3, 3, 1]])
    assert dataset.X.dtype == np.float32 and dataset.y.tolist() == ["x", "y", "x"]
    assert not dataset.is_table
    pandas.DataFrame({"t": [1, 2], "a": [1.5, 2.5]}).to_parquet(tmp_path / "i.parquet")
    by_name = load_parquet(tmp_path / "i.parquet", target="t")
    assert by_name.y.dtype == np.int64 and by_name.y.tolist() == [1, 2]
    assert by_name.feature_names == ["a"] and by_name.X.tolist() == [[1.5], [2.5]]
    as_table = load_parquet(tmp_path / "d.parquet", target=0)  # 'kind' is a text feature now
    assert as_table.is_table and as_table.X["kind"].tolist() == ["x", "y", "x"]
    pandas.DataFrame({"t": [0.5, 1.5], "a": [1, 2]}).to_parquet(tmp_path / "f.parquet")
    floats = load_parquet(tmp_path / "f.parquet", target=0)
    assert floats.y.dtype == np.float64 and floats.y.tolist() == [0.5, 1.5]


def test_parquet_errors(tmp_path, pandas):
    pandas.DataFrame({"a": [1.0, None], "t": [0, 1]}).to_parquet(tmp_path / "na.pq")
    gaps = load(tmp_path / "na.pq")
    assert gaps.is_table and np.isnan(gaps.X["a"].iloc[1]) and gaps.y.tolist() == [0, 1]
    pandas.DataFrame({"a": ["u", None], "t": [0.0, None]}).to_parquet(tmp_path / "s.parquet")
    with pytest.warns(
        UserWarning, match=r"1 row\(s\) have no target value in column 't' \(row 1\)"
    ):
        text = load_parquet(tmp_path / "s.parquet")
    assert text.X["a"].tolist() == ["u"] and text.y.tolist() == [0.0]
    pandas.DataFrame({"a": [[1], [2]], "t": [0, 1]}).to_parquet(tmp_path / "lists.parquet")
    with raises_data_error("column 'a' row 0: expected numbers or text, got a list value"):
        load_parquet(tmp_path / "lists.parquet")
    pandas.DataFrame({"a": [1.0, 2.0]}).to_parquet(tmp_path / "one.parquet")
    with raises_data_error("has 1 column; expected at least 2"):
        load_parquet(tmp_path / "one.parquet")
    with raises_data_error("has no column 'zzz'; expected one of 'a', 't'"):
        load_parquet(tmp_path / "na.pq", target="zzz")
    write(tmp_path, "bad.parquet", b"PAR1 this is not parquet PAR1")
    with raises_data_error("is not a readable Parquet file", "bad.parquet"):
        load_parquet(tmp_path / "bad.parquet")
    with raises_data_error("no such file"):
        load_parquet(tmp_path / "missing.parquet")


def test_parquet_without_pandas(tmp_path, monkeypatch):
    path = write(tmp_path, "d.parquet", b"PAR1")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(DataError) as info:
        load_parquet(path)
    assert str(info.value) == (
        "load_parquet: reading Parquet needs the 'data' extra: pip install 'fcnet[data]'."
    )


# --- NPZ ----------------------------------------------------------------------------------------


def test_npz_with_and_without_y(tmp_path):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.savez(tmp_path / "a.npz", X=X, y=np.array([0, 1, 0, 1], dtype=np.int32))
    dataset = load(tmp_path / "a.npz")
    np.testing.assert_array_equal(dataset.X, X)
    assert dataset.X.dtype == np.float32 and dataset.y.dtype == np.int64
    np.savez_compressed(tmp_path / "b.npz", X=X.astype(np.float32), extra=np.ones(2))
    assert load_npz(tmp_path / "b.npz").y is None
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.savez(tmp_path / "c.npz", X=images, y=np.array(["cat", "dog"]))
    dataset = load_npz(tmp_path / "c.npz")
    assert dataset.X.shape == (2, 9) and dataset.y.tolist() == ["cat", "dog"]
    np.savez(tmp_path / "f.npz", X=np.asfortranarray(X), y=X[:, :2])
    dataset = load_npz(tmp_path / "f.npz")
    np.testing.assert_array_equal(dataset.X, X)
    assert dataset.y.shape == (4, 2)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "nox.npz", features=np.ones((2, 2)))
    with raises_data_error("has no array 'X'", "got 'features'", "nox.npz"):
        load_npz(tmp_path / "nox.npz")
    np.savez(tmp_path / "flat.npz", X=np.ones(5))
    with raises_data_error(r"'X' is 1-D with shape \(5,\); expected a 2-D array"):
        load_npz(tmp_path / "flat.npz")
    np.savez(tmp_path / "text.npz", X=np.array([["a", "b"]]))
    with raises_data_error("must hold numbers"):
        load_npz(tmp_path / "text.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([[{"a": 1}]], dtype=object))
    with raises_data_error("must hold numbers", "dtype object"):
        load_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "len.npz", X=np.ones((3, 2)), y=np.ones(4))
    with raises_data_error(r"'y' has shape \(4,\); expected \(3,\)"):
        load_npz(tmp_path / "len.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0, np.nan]]))
    with raises_data_error("row 0, column 'x1': expected a finite number"):
        load_npz(tmp_path / "nan.npz")
    np.save(tmp_path / "single.npy", np.ones((2, 2)))
    with raises_data_error("is a single .npy array; expected an .npz archive"):
        load_npz(tmp_path / "single.npy")
    with raises_data_error("is not a valid .npz archive", "BadZipFile"):
        load_npz(write(tmp_path, "junk.npz", b"not a zip at all"))
    good = (tmp_path / "len.npz").read_bytes()
    with raises_data_error("is not a valid .npz archive"):
        load_npz(write(tmp_path, "cut.npz", good[: len(good) // 2]))


def test_npz_header_claiming_more_than_the_entry_holds(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ones((2, 3)))
    member = buffer.getvalue().replace(b"(2, 3)", b"(9, 3)")  # same length, 4.5x the data
    with zipfile.ZipFile(tmp_path / "lie.npz", "w") as archive:
        archive.writestr("X.npy", member)
    with raises_data_error(r"claims shape \(9, 3\) \(216 bytes\)", "holds 48 bytes"):
        load_npz(tmp_path / "lie.npz")


# --- IDX ----------------------------------------------------------------------------------------


@pytest.fixture
def mnist_like():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    return images, labels


def test_idx_plain_and_gzip(tmp_path, mnist_like):
    images, labels = mnist_like
    write(tmp_path, "img.idx", idx_bytes(images))
    write(tmp_path, "lab.idx", idx_bytes(labels))
    write(tmp_path, "img.gz", gzip.compress(idx_bytes(images)))
    write(tmp_path, "lab.gz", gzip.compress(idx_bytes(labels)))
    for images_name, labels_name in [("img.idx", "lab.idx"), ("img.gz", "lab.gz")]:
        dataset = load_idx(tmp_path / images_name, tmp_path / labels_name)
        assert dataset.X.shape == (5, 12) and dataset.X.dtype == np.float32
        np.testing.assert_allclose(dataset.X, images.reshape(5, 12) / 255.0, rtol=1e-6)
        assert dataset.y.dtype == np.int64 and dataset.y.tolist() == labels.tolist()
        assert dataset.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
    assert load_idx(tmp_path / "img.idx").y is None


@pytest.mark.parametrize("code", [0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_idx_other_types_keep_values(tmp_path, code):
    values = np.array([[1, -2, 3], [-4, 5, 6]])
    dataset = load_idx(write(tmp_path, "v.idx", idx_bytes(values, code)))
    np.testing.assert_array_equal(dataset.X, values)  # no scaling except for unsigned bytes
    assert dataset.feature_names == ["x0", "x1", "x2"]


def test_load_finds_mnist_labels_by_name(tmp_path, mnist_like):
    images, labels = mnist_like
    write(tmp_path, "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images)))
    write(tmp_path, "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(labels)))
    dataset = load(tmp_path / "train-images-idx3-ubyte.gz")
    assert dataset.X.shape == (5, 12) and dataset.y.tolist() == labels.tolist()
    write(tmp_path, "t10k-images-idx3-ubyte", idx_bytes(images))
    write(tmp_path, "t10k-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(labels)))
    assert load(tmp_path / "t10k-images-idx3-ubyte").y.tolist() == labels.tolist()
    write(tmp_path, "alone.idx", idx_bytes(images))
    assert load(tmp_path / "alone.idx").y is None
    write(tmp_path, "mystery.gz", gzip.compress(idx_bytes(images)))  # IDX found by its magic
    assert load(tmp_path / "mystery.gz").X.shape == (5, 12)


def test_idx_header_errors(tmp_path, mnist_like):
    images, labels = mnist_like
    valid = idx_bytes(images)
    with raises_data_error("is truncated; expected a 4-byte IDX header, got 2", "a.idx"):
        load_idx(write(tmp_path, "a.idx", valid[:2]))
    with raises_data_error("is not an IDX file", "got 01 00 08 03"):
        load_idx(write(tmp_path, "b.idx", b"\x01" + valid[1:]))
    with raises_data_error("is not an IDX file", "0x08, 0x09"):
        load_idx(write(tmp_path, "c.idx", valid[:2] + b"\x07" + valid[3:]))
    with raises_data_error("declares 0 dimensions"):
        load_idx(write(tmp_path, "d.idx", b"\x00\x00\x08\x00"))
    with raises_data_error("truncated in its header; expected 12 bytes of dimensions, got 6"):
        load_idx(write(tmp_path, "e.idx", valid[:10]))
    with raises_data_error("1-D array", "labels?"):
        load_idx(write(tmp_path, "f.idx", idx_bytes(labels)))


def test_idx_size_checks(tmp_path, mnist_like):
    images, labels = mnist_like
    valid = idx_bytes(images)
    with raises_data_error(r"declares dims \(5, 4, 3\) of u1 \(60 bytes\)", "holds 59 bytes"):
        load_idx(write(tmp_path, "short.idx", valid[:-1]))
    with raises_data_error("holds 61 bytes after its header"):
        load_idx(write(tmp_path, "long.idx", valid + b"\0"))
    huge = struct.pack(">BBBBIII", 0, 0, 0x0E, 3, 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\0" * 64
    with raises_data_error("declares dims", "the file holds 64 bytes"):
        load_idx(write(tmp_path, "huge.idx", huge))  # refused before allocating anything
    with raises_data_error("more than a gzip file of", "can hold"):
        load_idx(write(tmp_path, "huge.gz", gzip.compress(huge)))
    with raises_data_error("is truncated; dims"):
        load_idx(write(tmp_path, "short.gz", gzip.compress(valid[:-5])))
    with raises_data_error("is not a valid gzip stream"):
        load_idx(write(tmp_path, "cut.gz", gzip.compress(valid)[:-12]))
    write(tmp_path, "img.idx", valid)
    write(tmp_path, "lab.idx", idx_bytes(labels[:4]))
    with raises_data_error(r"have shape \(4,\); expected \(5,\), one label per image"):
        load_idx(tmp_path / "img.idx", tmp_path / "lab.idx")


def test_idx_gzip_reads_at_most_the_declared_size(tmp_path):
    """A small header followed by 20 MB of (highly compressible) zeros: refused after 101 bytes."""
    header = struct.pack(">BBBBII", 0, 0, 0x08, 2, 10, 10)
    bomb = write(tmp_path, "bomb.gz", gzip.compress(header + bytes(20_000_000), compresslevel=9))
    tracemalloc.start()
    try:
        with raises_data_error(r"holds more data than its dims \(10, 10\) declare"):
            load_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


# --- dispatch -----------------------------------------------------------------------------------


def test_load_dispatch_errors(tmp_path):
    with raises_data_error("unsupported type", ".txt", ".csv, .tsv, .parquet", "-ubyte"):
        load(write(tmp_path, "a.txt", "1,2\n"))
    with raises_data_error("unsupported type", ".csv.gz"):
        load(write(tmp_path, "a.csv.gz", gzip.compress(b"a,b\n1,2\n")))
    with raises_data_error("no such file", "load"):
        load(tmp_path / "missing.csv")
    np.savez(tmp_path / "a.npz", X=np.ones((2, 2)))
    with raises_data_error("expected no target, got target='y'"):
        load(tmp_path / "a.npz", target="y")


# --- labels and task ----------------------------------------------------------------------------


def test_encode_and_decode_labels():
    codes, classes = encode_labels(["dog", "cat", "dog", "emu"])
    assert codes.dtype == np.int64 and codes.tolist() == [1, 0, 1, 2]
    assert classes.tolist() == ["cat", "dog", "emu"]
    assert decode_labels(codes, classes).tolist() == ["dog", "cat", "dog", "emu"]
    codes, classes = encode_labels(np.array([10, -3, 10]))
    assert codes.tolist() == [1, 0, 1] and classes.tolist() == [-3, 10]
    assert decode_labels(np.array([[0, 1]]), classes).tolist() == [[-3, 10]]


def test_label_errors():
    with pytest.raises(ValueError, match=r"expected labels of shape \(m,\), got \(2, 2\)"):
        encode_labels(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must be finite, got nan at row 1"):
        encode_labels([1.0, np.nan])
    with pytest.raises(ValueError, match="at least one label"):
        encode_labels([])
    with pytest.raises(TypeError, match="one sortable type"):
        encode_labels(np.array(["a", 1, None], dtype=object))
    with pytest.raises(ValueError, match=r"integers in \[0, 2\), got 2 at row 1"):
        decode_labels([0, 2], ["a", "b"])
    with pytest.raises(TypeError, match="expected integer codes"):
        decode_labels([0.0], ["a"])


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (["a", "b", "a"], "classification"),
        ([True, False], "classification"),
        (np.arange(100) % 10, "classification"),
        (np.array([0.0, 1.0, 1.0]), "classification"),
        (np.arange(51), "regression"),  # many distinct integers: counts, years, ...
        (np.array([0.5, 1.0, 2.0]), "regression"),
        (np.zeros((4, 2)), "regression"),
        (np.array([[1], [2]]), "classification"),
    ],
)
def test_infer_task(y, task):
    assert infer_task(y) == task


def test_infer_task_errors():
    with pytest.raises(ValueError, match="finite"):
        infer_task([1.0, np.inf])
    with pytest.raises(ValueError, match="at least one target"):
        infer_task([])
    assert infer_task(np.arange(60), max_classes=100) == "classification"


# --- fuzzing ------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MEMORY_LIMIT = 16 * 2**20  # far above what these small files need, far below a claimed size


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _valid_files() -> dict[str, list[bytes]]:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(6, 3, 2), dtype=np.uint8)
    labels = rng.integers(0, 10, size=6, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, X=rng.normal(size=(6, 3)), y=labels)
    stored = buffer.getvalue()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=images, y=np.array(list("abcdef")))
    csv_text = "a,b,label\n" + "".join(f"{i},{i / 3:.4f},{'xy'[i % 2]}\n" for i in range(6))
    return {
        "idx": [idx_bytes(images), gzip.compress(idx_bytes(images)), idx_bytes(labels)],
        "npz": [stored, buffer.getvalue()],
        "csv": [csv_text.encode(), b"1,2,3\n4,5,6\n", b'"a","b"\n"1","x"\n'],
    }


VALID = _valid_files()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, mask in flips:
        out[position % len(out)] ^= mask
    return bytes(out)


def hostile(kind: str) -> st.SearchStrategy[bytes]:
    """Random bytes, or a valid file truncated, bit-flipped or with 4 header bytes overwritten."""
    valid = st.sampled_from(VALID[kind])
    flips = st.lists(st.tuples(st.integers(0, 2**16), st.integers(1, 255)), min_size=1, max_size=6)
    return st.one_of(
        st.binary(max_size=400),
        st.tuples(valid, st.floats(0, 1)).map(lambda pair: pair[0][: int(pair[1] * len(pair[0]))]),
        st.tuples(valid, flips).map(lambda pair: _flip(*pair)),
        st.tuples(valid, st.integers(0, 60), st.binary(min_size=4, max_size=4)).map(
            lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 4 :]
        ),
    )


def check_loader(loader, path: Path, *extra) -> None:
    """The loader returns a finite Dataset or raises ValueError/TypeError, within memory bounds."""
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # rows without a target, left out
            dataset = loader(path, *extra)
    except DataError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert any(file.name in message for file in (path, *extra)), message
    except (ValueError, TypeError):
        pass
    else:
        if dataset.is_table:  # text or missing values: a DataFrame, one row per label
            assert dataset.X.shape[0] == dataset.n_samples
        else:
            assert dataset.X.dtype == np.float32 and np.isfinite(dataset.X).all()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT


@FUZZ
@given(content=hostile("idx"))
def test_fuzz_load_idx(folder, content):
    path = write(folder, "fuzz-images-idx3-ubyte", content)
    check_loader(load_idx, path)


@FUZZ
@given(content=hostile("idx"), labels=hostile("idx"))
def test_fuzz_load_idx_with_labels(folder, content, labels):
    write(folder, "fuzz-labels-idx1-ubyte", labels)
    check_loader(
        load_idx, write(folder, "fuzz2-images", content), folder / "fuzz-labels-idx1-ubyte"
    )


@FUZZ
@given(content=hostile("npz"))
def test_fuzz_load_npz(folder, content):
    check_loader(load_npz, write(folder, "fuzz.npz", content))


@FUZZ
@given(content=hostile("csv"))
def test_fuzz_load_csv(folder, content):
    check_loader(load_csv, write(folder, "fuzz.csv", content))


def test_split_rows_is_seeded_disjoint_and_stratified():
    from fcnet.data import split_rows

    labels = np.array([0] * 30 + [1] * 10)
    kept, held = split_rows(40, 0.2, 0, labels=labels)
    assert len(held) == 8 and np.sum(labels[held] == 1) == 2
    assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(40))
    again = split_rows(40, 0.2, 0, labels=labels)
    assert np.array_equal(again[1], held)
    # a sub-split of the kept rows never touches the held-out ones
    train, val = split_rows(40, 0.25, 1, labels=labels, rows=kept)
    assert not set(val) & set(held) and not set(train) & set(held)
    assert len(train) + len(val) == len(kept)
    # a tiny class still gives one row to each side; no fraction keeps everything
    kept, held = split_rows(3, 0.01, 0)
    assert len(held) == 1 and len(kept) == 2
    assert len(split_rows(5, 0.0, 0)[1]) == 0


def test_encode_with_classes_maps_into_given_classes_and_names_strangers():
    from fcnet.data import encode_with_classes

    codes = encode_with_classes(["dog", "cat", "dog"], np.array(["cat", "dog"]))
    np.testing.assert_array_equal(codes, [1, 0, 1])
    with pytest.raises(ValueError, match=r"predict: label 'eel' at row 1 is not one of"):
        encode_with_classes(["cat", "eel"], np.array(["cat", "dog"]), "predict")


@pytest.mark.parametrize(
    ("labels", "classes", "expected"),
    [
        ([3, 1, 3, 2], [3, 1, 2], [0, 1, 0, 2]),  # classes in any order
        ([1.0, 0.0], [0, 1], [1, 0]),  # floats equal to integer classes
        ([True, False], [False, True], [1, 0]),
        (np.array(["b", "a"], dtype=object), np.array(["a", "b"]), [1, 0]),  # object labels
    ],
)
def test_encode_with_classes_by_value_whatever_the_dtypes(labels, classes, expected):
    from fcnet.data import encode_with_classes

    codes = encode_with_classes(labels, np.asarray(classes))
    assert codes.dtype == np.int64 and codes.tolist() == expected


@pytest.mark.parametrize(
    ("labels", "classes", "message"),
    [
        ([0, 1, 2.5, 7], [0, 1], "label 2.5 at row 2"),
        (["a", "c", "d"], ["a", "b"], "label 'c' at row 1"),
        (np.array(["a", 3], dtype=object), ["a", "b"], "label 3 at row 1"),
    ],
)
def test_encode_with_classes_names_the_first_stranger(labels, classes, message):
    from fcnet.data import encode_with_classes

    with pytest.raises(ValueError, match=rf"^encode_with_classes: {message} is not one of"):
        encode_with_classes(labels, np.asarray(classes))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((10, 1.5, 0), {}, ValueError, r"^split_rows: expected fraction in \[0.0, 1.0\), got 1.5"),
        ((10, float("nan"), 0), {}, ValueError, r"expected fraction in \[0.0, 1.0\), got nan"),
        ((10, "0.3", 0), {}, TypeError, "expected fraction to be a number, got '0.3'"),
        ((-1, 0.3, 0), {}, ValueError, "n_rows"),
        (
            (10, 0.3, 0),
            {"labels": [0, 1]},
            ValueError,
            r"labels of shape \(10,\).*got shape \(2,\)",
        ),
        ((10, 0.3, 0), {"rows": [0, 20, 30]}, ValueError, r"rows in \[0, 10\).*got 20"),
        ((10, 0.3, 0), {"rows": [0.5, 1.5]}, TypeError, "integer row indices, got float64"),
    ],
)
def test_split_rows_names_a_bad_argument(args, kwargs, error, message):
    from fcnet.data import split_rows

    with pytest.raises(error, match=message):
        split_rows(*args, **kwargs)


def test_unsigned_labels_beyond_int64_are_refused_not_wrapped(tmp_path, pandas):
    big = np.array([5, 2**63 + 15, 10], dtype=np.uint64)
    np.savez(tmp_path / "big.npz", X=np.ones((3, 2)), y=big)
    with raises_data_error("array 'y': row 1 holds 9223372036854775823", "int64 range"):
        load_npz(tmp_path / "big.npz")
    columns = np.array([[1, 2], [3, 4], [5, 2**63 + 15]], dtype=np.uint64)
    np.savez(tmp_path / "columns.npz", X=np.ones((3, 2)), y=columns)
    with raises_data_error("array 'y': row 2 holds 9223372036854775823"):  # row, not flat index
        load_npz(tmp_path / "columns.npz")
    np.savez(tmp_path / "small.npz", X=np.ones((3, 2)), y=np.array([5, 15, 10], np.uint64))
    small = load_npz(tmp_path / "small.npz").y
    assert small.dtype == np.int64 and small.tolist() == [5, 15, 10]
    pandas.DataFrame({"a": [1.0, 2.0, 3.0], "t": big}).to_parquet(tmp_path / "big.parquet")
    with raises_data_error("column 't': row 1 holds 9223372036854775823"):
        load_parquet(tmp_path / "big.parquet")


def test_npz_targets_without_columns_are_refused(tmp_path):
    np.savez(tmp_path / "empty_y.npz", X=np.ones((3, 2)), y=np.ones((3, 0)))
    with raises_data_error("array 'y' has shape", "(3, 0); expected (3,) or (3, k) with k >= 1"):
        load_npz(tmp_path / "empty_y.npz")


def test_parquet_text_labels_from_bytes_and_refused_lists(tmp_path, pandas):
    frame = pandas.DataFrame({"a": [1.0, 2.0], "t": [b"cat", "dog"]})
    frame.to_parquet(tmp_path / "bytes.parquet")
    assert load_parquet(tmp_path / "bytes.parquet").y.tolist() == ["cat", "dog"]
    pandas.DataFrame({"a": [1.0, 2.0], "t": [[1], [2, 3]]}).to_parquet(tmp_path / "lists.pq")
    with raises_data_error("row 0, column 't': expected a number or a text label, got"):
        load_parquet(tmp_path / "lists.pq")


def test_csv_without_a_target_column(tmp_path):
    one = write(tmp_path, "one.csv", "x\n0.5\n-2\n")
    dataset = load_csv(one, target=False)
    assert dataset.y is None and dataset.target_name is None and not dataset.target_is_column
    assert dataset.feature_names == ["x"] and dataset.X.tolist() == [[0.5], [-2.0]]
    three = write(tmp_path, "three.csv", "1,2,3\n4,5,6\n")
    assert load_csv(three, target=False, header=False).X.tolist() == [[1, 2, 3], [4, 5, 6]]
    with raises_data_error("has 1 column; expected at least 2"):
        load_csv(one)
    text = load_csv(write(tmp_path, "text.csv", "x\n1\nabc\n"), target=False)
    assert text.is_table and text.X["x"].tolist() == ["1", "abc"]


def test_load_reads_files_without_a_target_column(tmp_path, pandas):
    csv_file = write(tmp_path, "x.csv", "x\n0.5\n-2\n")
    assert load(csv_file, target=False).X.tolist() == [[0.5], [-2.0]]
    pandas.DataFrame({"x": [0.5, -2.0]}).to_parquet(tmp_path / "x.parquet")
    one = load(tmp_path / "x.parquet", target=False)
    assert one.y is None and one.feature_names == ["x"] and one.X.tolist() == [[0.5], [-2.0]]
    with raises_data_error("has 1 column; expected at least 2", "(features and a target)"):
        load_parquet(tmp_path / "x.parquet")
    np.savez(tmp_path / "d.npz", X=np.ones((2, 3)), y=np.array([0, 1]))
    assert load(tmp_path / "d.npz", target=False).y.tolist() == [0, 1]  # labels stored apart
