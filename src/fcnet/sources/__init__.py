"""Training data larger than memory: sources that ``fit`` streams in groups of rows.

``model.fit(ParquetSource("big.parquet", target="y"), None, ...)`` reads the file one row
group at a time and never holds more than a few of them: the targets (one column) are read
whole, the features group by group as the epoch needs them. In data-parallel training each
process reads only the groups its rows are in.

The order of an epoch, seeded by ``fit``'s ``rng``, is reproducible::

    1. the row groups in a random order;
    2. taken ``window`` at a time, the rows of each window in a random order;

so a window of row groups is what a process holds in memory (plus the next ones, read ahead
while it trains). ``shuffle=False`` reads the rows in the file's order. With N processes the
epoch's rows are dealt out in contiguous runs of that order (see :mod:`fcnet.train.stream`).

A source is any :class:`Source`: :class:`ParquetSource` (pyarrow, the ``data`` extra), and
:class:`ArraySource` over an array already at hand, e.g. a memory-mapped ``.npy``.
"""

from fcnet.sources.array import ArraySource
from fcnet.sources.base import GroupSubset, Source
from fcnet.sources.parquet import ParquetSource

__all__ = ["ArraySource", "GroupSubset", "ParquetSource", "Source"]
