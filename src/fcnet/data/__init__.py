"""Data loaders: CSV, Parquet, NPZ, IDX (the MNIST format) and the bundled digits.

Every loader returns a :class:`Dataset`: ``X`` float32 ``(m, n_features)`` C-contiguous, ``y``
``(m,)`` or ``(m, k)`` (or None when the file holds no labels), the feature names and the target
name. A CSV or Parquet table with text columns or missing values comes back as it is, ``X`` a
pandas DataFrame for :class:`fcnet.preprocessing.TabularEncoder` (``dataset.is_table``); rows
without a target value are left out with a warning. A bad file raises :class:`DataError` (a
``ValueError``) whose one-line message names the loader, the file, what was wrong, what was
expected and what was found::

    load_csv: 'x.csv' line 5 has 3 fields, expected 4.

Files are never unpickled, and a header's claimed size is checked against what the file can hold
before any memory is allocated for it.

One module per part: ``csv``, ``parquet``, ``npz``, ``idx`` (the formats), ``digits`` (the
bundled data set), ``dispatch`` (:func:`load`), ``labels`` (class codes and the task guess),
``split`` (seeded, stratified row splits), ``dataset`` (the result type), ``tables`` (the
feature columns of a CSV or Parquet table).
"""

from fcnet.data._common import MAX_CLASSES, SUPPORTED_SUFFIXES, DataError
from fcnet.data.csv import load_csv
from fcnet.data.dataset import Dataset
from fcnet.data.digits import load_digits
from fcnet.data.dispatch import load
from fcnet.data.idx import load_idx
from fcnet.data.labels import (
    class_positions,
    decode_labels,
    encode_labels,
    encode_with_classes,
    infer_task,
)
from fcnet.data.npz import load_npz
from fcnet.data.parquet import load_parquet
from fcnet.data.split import split_rows
from fcnet.sources import ParquetSource

__all__ = [
    "MAX_CLASSES",
    "SUPPORTED_SUFFIXES",
    "DataError",
    "Dataset",
    "ParquetSource",
    "class_positions",
    "decode_labels",
    "encode_labels",
    "encode_with_classes",
    "infer_task",
    "load",
    "load_csv",
    "load_digits",
    "load_idx",
    "load_npz",
    "load_parquet",
    "split_rows",
]
