"""Training from data larger than memory: sources read by groups of rows (fcnet.sources), the
streamed order, and memory-mapped arrays used without a copy."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import fcnet
from fcnet.data import DataError
from fcnet.distributed import simulate
from fcnet.sources import ArraySource, ParquetSource
from fcnet.train.batches import batch_bounds
from fcnet.train.stream import stream_order

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

M, N = 300, 4


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(M, N))
    y = rng.integers(0, 3, M)
    return X, y


def write(path, X, y=None, group_rows=40, **extra):
    columns = {f"f{j}": X[:, j] for j in range(X.shape[1])} | extra
    if y is not None:
        columns["label"] = y
    pq.write_table(pa.table(columns), path, row_group_size=group_rows)
    return path


def net(seed=1, dropout=0.0):
    layers = [fcnet.Dense(N, 8, activation="tanh", rng=seed, dtype="float64")]
    if dropout:
        layers.append(fcnet.Dropout(dropout))
    layers.append(fcnet.Dense(8, 3, rng=seed + 1, dtype="float64"))
    return fcnet.Sequential(layers)


def params(model):
    return [p.copy() for p in model.params().values()]


def same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def test_a_parquet_source_reads_groups_and_targets(tmp_path, table):
    X, y = table
    source = ParquetSource(write(tmp_path / "d.parquet", X, y), target="label")
    assert (len(source), source.n_features, source.shape) == (M, N, (M, N))
    assert source.group_rows.tolist() == [40] * 7 + [20]
    assert source.feature_names == ["f0", "f1", "f2", "f3"] and source.target_name == "label"
    np.testing.assert_array_equal(source.targets(), y)
    block = source.read_group(2, np.float64)
    assert block.flags.c_contiguous and block.dtype == np.float64
    np.testing.assert_array_equal(block, X[80:120])
    np.testing.assert_array_equal(source.read_group(7), X[280:].astype(np.float32))
    assert ParquetSource(tmp_path / "d.parquet").target_name == "label"  # the last column
    assert ParquetSource(tmp_path / "d.parquet", target=False).n_features == N + 1


def test_targets_keep_their_kind(tmp_path, table):
    X, _ = table
    kinds = {
        "names": (np.array(["cat", "dog", "emu"])[np.arange(M) % 3], "U"),
        "flags": (np.arange(M) % 2 == 0, "b"),
        "values": (np.linspace(-1.0, 1.0, M), "f"),
    }
    for name, (values, kind) in kinds.items():
        path = write(tmp_path / f"{name}.parquet", X, **{name: values})
        got = ParquetSource(path, target=name).targets()
        assert got.dtype.kind == kind and np.array_equal(got, values)


def test_bad_files_and_values_are_named(tmp_path, table):
    X, y = table
    with pytest.raises(DataError, match="no such file"):
        ParquetSource(tmp_path / "missing.parquet")
    (tmp_path / "text.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        ParquetSource(tmp_path / "text.parquet")
    words = np.array(["a"] * M)
    with pytest.raises(DataError, match="column 'w': expected numbers"):
        ParquetSource(write(tmp_path / "w.parquet", X, y, w=words), target="label")
    bad = X.copy()
    bad[97, 2] = np.nan
    source = ParquetSource(write(tmp_path / "nan.parquet", bad, y), target="label")
    source.read_group(0)
    with pytest.raises(DataError, match=r"row 97, column 'f2': expected a finite number"):
        source.read_group(2)
    gaps = pa.table({"f0": pa.array([1.0, None, 3.0]), "label": [0, 1, 0]})
    pq.write_table(gaps, tmp_path / "gap.parquet")
    with pytest.raises(DataError, match=r"row 1, column 'f0': missing value"):
        ParquetSource(tmp_path / "gap.parquet").read_group(0)


def test_the_epoch_order_shuffles_groups_then_rows_within_windows(tmp_path, table):
    X, y = table
    source = ParquetSource(write(tmp_path / "d.parquet", X, y, 30), target="label", window=3)
    rows = np.arange(M)
    V = source.epoch_rows(rows, np.random.default_rng(5), shuffle=True)
    assert sorted(V.tolist()) == rows.tolist()
    np.testing.assert_array_equal(V, source.epoch_rows(rows, np.random.default_rng(5), True))
    assert not np.array_equal(V, source.epoch_rows(rows, np.random.default_rng(6), True))
    groups = source.groups_of(V)  # windows of 3 groups of 30 rows: 90 rows each
    windows = [set(groups[i : i + 90].tolist()) for i in (0, 90, 180)]
    assert [len(w) for w in windows] == [3, 3, 3] and not windows[0] & windows[1]
    assert not windows[0] & set(groups[90:].tolist())
    np.testing.assert_array_equal(source.epoch_rows(rows, np.random.default_rng(5), False), rows)


def test_holding_out_takes_whole_groups(tmp_path, table):
    X, y = table
    source = ParquetSource(write(tmp_path / "d.parquet", X, y), target="label")
    train, val = source.hold_out(0.25, np.random.default_rng(0))
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == M
    assert len(set(source.groups_of(val))) == 2
    assert not set(source.groups_of(val)) & set(source.groups_of(train))
    one = ParquetSource(write(tmp_path / "one.parquet", X, y, group_rows=M), target="label")
    with pytest.raises(ValueError, match="holds out whole row groups"):
        one.hold_out(0.2, np.random.default_rng(0))


def test_streamed_in_file_order_it_trains_the_in_memory_model_bit_for_bit(tmp_path, table):
    X, y = table
    source = ParquetSource(write(tmp_path / "d.parquet", X, y), target="label")
    kw = dict(epochs=3, batch_size=32, shuffle=False, rng=0, metrics=["accuracy"])
    streamed, in_memory = net(dropout=0.2), net(dropout=0.2)
    got = streamed.fit(source, None, **kw)
    want = in_memory.fit(X, y, **kw)
    assert same(params(streamed), params(in_memory)) and got.history == want.history


def reference_order(source, seed, batch_size, size, dropouts=0):
    """The rows of a streamed epoch, drawn as fit draws them (after the Dropout's seed)."""
    rng = np.random.default_rng(seed)
    for _ in range(dropouts):
        rng.integers(2**63)
    V = source.epoch_rows(np.arange(len(source)), rng, shuffle=True)
    return stream_order(V, batch_bounds(len(V), batch_size, size), size)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_streamed_shuffled_it_trains_the_model_of_that_order_in_memory(tmp_path, table, size):
    X, y = table
    source = ParquetSource(write(tmp_path / "d.parquet", X, y), target="label", window=2)
    order = reference_order(source, 0, 25, size, dropouts=1)
    want = net(dropout=0.2)
    want.fit(X[order], y[order], epochs=1, batch_size=25, shuffle=False, rng=0)

    def run(comm):
        model = net(dropout=0.2)
        model.fit(source, None, epochs=1, batch_size=25, rng=0, distributed=comm)
        return params(model)

    results = simulate(size, run) if size > 1 else [run(None)]
    for got in results:
        if size == 1:
            assert same(got, params(want))
        for a, b in zip(got, params(want), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert all(same(got, results[0]) for got in results)


def test_each_process_reads_its_run_of_the_order():
    """stream_order: process p's rows of each batch are the next of its contiguous run of V."""
    V = np.random.default_rng(1).permutation(103)
    bounds = batch_bounds(103, 10, 3)
    order = stream_order(V, bounds, 3)
    assert sorted(order.tolist()) == list(range(103))
    runs = []
    for p in range(3):
        mine = []
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            n = stop - start
            mine.extend(order[start + (n * p) // 3 : start + (n * (p + 1)) // 3])
        runs.append(mine)
    np.testing.assert_array_equal(np.concatenate(runs), V)


class CountingSource(ArraySource):
    """An ArraySource that counts its reads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = []

    def read_group(self, i, dtype=np.float32):
        self.reads.append(i)
        return super().read_group(i, dtype)


def test_each_group_is_read_once_an_epoch_and_few_are_held(table, monkeypatch):
    from fcnet.train import stream

    X, y = table
    source = CountingSource(X, y, group_rows=20, window=3)
    held = []
    gather = stream.StreamBatches.gather

    def counting(self, lo, hi):
        result = gather(self, lo, hi)
        held.append(len(self._blocks))
        return result

    monkeypatch.setattr(stream.StreamBatches, "gather", counting)
    net().fit(source, None, epochs=2, batch_size=16, rng=0)
    assert len(source.reads) == 1 + 2 * 15  # the first row (to check the width), then 2 epochs
    assert sorted(source.reads[1:16]) == list(range(15))
    assert max(held) <= 3 + 1


def test_validation_split_and_resume_from_a_source(tmp_path, table):
    X, y = table
    source = ParquetSource(write(tmp_path / "d.parquet", X, y), target="label")
    kw = dict(batch_size=16, rng=0, validation_split=0.25, metrics=["accuracy"])
    straight = net()
    want = straight.fit(source, None, epochs=3, **kw)
    assert "val_accuracy" in want.history
    path = tmp_path / "run.ckpt"
    net().fit(source, None, epochs=1, checkpoint=path, **kw)
    resumed = net()
    got = resumed.fit(source, None, epochs=3, checkpoint=path, resume=True, **kw)
    assert same(params(resumed), params(straight)) and got.history == want.history
    other = ParquetSource(write(tmp_path / "e.parquet", X + 1, y), target="label")
    with pytest.raises(ValueError, match="other training data"):
        net().fit(other, None, epochs=3, checkpoint=path, resume=True, **kw)


def test_bad_rows_read_by_one_process_fail_every_process(table):
    X, y = table
    X = X.copy()
    X[290, 1] = np.inf  # the last group: read by the last process only

    def run(comm):
        source = ArraySource(X, y, group_rows=20, name="'x'")
        try:
            net().fit(source, None, epochs=1, batch_size=20, shuffle=False, distributed=comm)
        except DataError as exc:
            return str(exc)

    messages = simulate(2, run)
    assert messages[0] == messages[1]
    assert "'x' row 290, column '1': expected a finite number, got inf" in messages[0]


def test_a_source_takes_no_y(table):
    X, y = table
    with pytest.raises(TypeError, match="expected y=None"):
        net().fit(ArraySource(X, y), y)


def test_a_memory_mapped_array_is_used_without_a_copy(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "X.npy"
    np.save(path, rng.normal(size=(24_000, 100)).astype(np.float32))  # 9.6 MB
    y = rng.integers(0, 3, 24_000)
    X = np.load(path, mmap_mode="r")
    model = fcnet.Sequential(
        [fcnet.Dense(100, 8, activation="relu", rng=0), fcnet.Dense(8, 3, rng=1)]
    )
    # the row numbers, the batches, the outputs (and blocks of the validation rows): not X
    for kw, bound in ((dict(), X.nbytes / 4), (dict(validation_split=0.2), X.nbytes / 3)):
        tracemalloc.start()
        model.fit(X, y, epochs=1, batch_size=256, rng=0, **kw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < bound, kw
    in_memory = fcnet.Sequential(
        [fcnet.Dense(100, 8, activation="relu", rng=0), fcnet.Dense(8, 3, rng=1)]
    )
    in_memory.fit(np.array(X), y, epochs=1, batch_size=256, rng=0)
    model = fcnet.Sequential(
        [fcnet.Dense(100, 8, activation="relu", rng=0), fcnet.Dense(8, 3, rng=1)]
    )
    model.fit(X, y, epochs=1, batch_size=256, rng=0)
    assert same(params(model), params(in_memory))
