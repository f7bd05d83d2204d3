"""The protocol of a source (:class:`Source`: groups of rows, the epoch's order, hold-outs) and
a source of some of another's groups (:class:`GroupSubset`)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from fcnet._validation import first_nonfinite
from fcnet.data._common import DataError


class Source:
    """Rows of features and targets readable one group at a time (the protocol of ``fit``).

    Subclasses set ``name`` (for messages), ``feature_names``, ``target_name``, ``window`` and
    ``group_rows`` (the rows of each group, int64) and implement :meth:`read_group` and
    :meth:`targets`.
    """

    name = "source"
    feature_names: list[str]
    target_name: str | None = None
    group_rows: np.ndarray
    window = 4

    # --- what a subclass implements ----------------------------------------------------------
    def read_group(self, i: int, dtype: Any = np.float32) -> np.ndarray:
        """The features of group ``i`` as a C-contiguous ``(group_rows[i], n_features)`` array
        of ``dtype``, checked finite (a ``DataError`` names the row and column otherwise)."""
        raise NotImplementedError

    def targets(self) -> np.ndarray:
        """The target of every row, ``(n_rows,)`` (or ``(n_rows, k)``), read whole."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A digest of what the source holds, cheap to compute (checkpoints compare it)."""
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_rows(self) -> int:
        return int(self.group_rows.sum())

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_rows, self.n_features

    def __len__(self) -> int:
        return self.n_rows

    @property
    def group_starts(self) -> np.ndarray:
        """The first row of each group, then n_rows: ``(n_groups + 1,)``."""
        starts = getattr(self, "_starts", None)
        if starts is None:
            starts = self._starts = np.concatenate([[0], np.cumsum(self.group_rows)])
        return starts

    def groups_of(self, rows: np.ndarray) -> np.ndarray:
        """The group each of ``rows`` (row numbers) is in."""
        return np.searchsorted(self.group_starts, rows, side="right") - 1

    def rows_of_groups(self, groups: np.ndarray) -> np.ndarray:
        """Every row of ``groups``, ascending."""
        starts = self.group_starts
        groups = np.sort(np.asarray(groups, dtype=np.int64))
        return np.concatenate(
            [np.arange(starts[g], starts[g + 1]) for g in groups] or [np.zeros(0, np.int64)]
        )

    def epoch_rows(self, rows: np.ndarray, rng: np.random.Generator, shuffle: bool) -> np.ndarray:
        """``rows`` (ascending row numbers) in an epoch's order: groups in a random order, then
        the rows of each window of ``window`` groups in a random order (see the module
        docstring); in the file's order when not ``shuffle``."""
        rows = np.asarray(rows, dtype=np.int64)
        if not shuffle:
            return rows
        starts = self.group_starts
        cuts = np.searchsorted(rows, starts)  # rows[cuts[g]:cuts[g + 1]] are group g's
        groups = np.flatnonzero(np.diff(cuts))
        groups = rng.permutation(groups)
        parts = []
        for w in range(0, len(groups), self.window):
            window = groups[w : w + self.window]
            part = np.concatenate([rows[cuts[g] : cuts[g + 1]] for g in window])
            parts.append(rng.permutation(part))
        return np.concatenate(parts) if parts else rows

    def subset(self, groups: Any, targets: Any = None) -> GroupSubset:
        """The row groups ``groups`` of this source as a source of their own (the training,
        validation or test part of a split by groups); ``targets``, if given, are those of every
        row of this source, of which the subset keeps its rows'."""
        return GroupSubset(self, groups, targets)

    def hold_out(self, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(training rows, validation rows), ascending: whole groups, ``fraction`` of them
        (at least one) drawn at random, held out, so that validation reads only its groups."""
        n_groups = len(self.group_rows)
        k = max(1, int(round(fraction * n_groups)))
        if k >= n_groups:
            raise ValueError(
                f"fit: validation_split={fraction} holds out whole row groups of a source, and "
                f"{self.name} has {n_groups}; pass validation_data, or write the file in more "
                "row groups."
            )
        held = rng.choice(n_groups, size=k, replace=False)
        kept = np.setdiff1d(np.arange(n_groups), held)
        return self.rows_of_groups(kept), self.rows_of_groups(held)

    def _check_finite(self, block: np.ndarray, first_row: int, original: Any = None) -> None:
        bad = first_nonfinite(block)
        if bad is not None:
            i, j = bad
            value = block[i, j].item() if original is None else original(i, j)
            raise DataError(
                f"{type(self).__name__}: {self.name} row {first_row + i}, column "
                f"{self.feature_names[j]!r}: expected a finite number, got {value!r}."
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name}, rows={self.n_rows}, "
            f"features={self.n_features}, groups={len(self.group_rows)})"
        )


class GroupSubset(Source):
    """Some row groups of a source (see :meth:`Source.subset`); its rows are numbered from 0
    in the order of the groups, its errors name the rows of the file."""

    def __init__(self, source: Source, groups: Any, targets: Any = None) -> None:
        groups = np.unique(np.asarray(groups, dtype=np.int64))
        if len(groups) == 0 or groups[0] < 0 or groups[-1] >= len(source.group_rows):
            raise ValueError(
                f"Source.subset: expected row groups in [0, {len(source.group_rows)}), got "
                f"{groups.tolist()}."
            )
        self.source, self.groups = source, groups
        self.name, self.window = source.name, source.window
        self.feature_names, self.target_name = source.feature_names, source.target_name
        self.group_rows = source.group_rows[groups]
        self._rows = source.rows_of_groups(groups)
        self._targets = None if targets is None else np.asarray(targets)[self._rows]

    def read_group(self, i: int, dtype: Any = np.float32) -> np.ndarray:
        return self.source.read_group(int(self.groups[i]), dtype)

    def targets(self) -> np.ndarray:
        return self.source.targets()[self._rows] if self._targets is None else self._targets

    def fingerprint(self) -> str:
        parts = (self.source.fingerprint(), self.groups.tolist())
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
