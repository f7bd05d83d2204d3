"""Scratch buffers: views of one growing array per name, reused from call to call."""

from __future__ import annotations

import numpy as np

from fcnet._buffers import _MAX_VIEWS, Buffers

F32 = np.dtype(np.float32)


def test_the_same_request_returns_the_same_view_of_the_same_memory():
    buffers = Buffers()
    first = buffers.get("Z", 8, 3, F32)
    assert first.shape == (8, 3) and first.dtype == F32 and first.flags.c_contiguous
    assert buffers.get("Z", 8, 3, F32) is first
    smaller = buffers.get("Z", 5, 3, F32)  # the last, partial batch: the same storage
    assert np.shares_memory(smaller, first) and smaller.shape == (5, 3)


def test_a_larger_request_moves_every_later_view_to_the_new_array():
    buffers = Buffers()
    old = buffers.get("Z", 4, 3, F32)
    large = buffers.get("Z", 40, 3, F32)
    again = buffers.get("Z", 4, 3, F32)
    assert not np.shares_memory(again, old)
    assert np.shares_memory(again, large)
    again[...] = 7.0
    np.testing.assert_array_equal(large[:4], 7.0)


def test_a_change_of_dtype_gets_a_new_array():
    buffers = Buffers()
    buffers.get("Z", 4, 3, F32)
    as64 = buffers.get("Z", 4, 3, np.dtype(np.float64))
    assert as64.dtype == np.float64
    assert buffers.get("Z", 4, 3, F32).dtype == F32


def test_clear_forgets_arrays_and_views_and_the_view_cache_stays_small():
    buffers = Buffers()
    view = buffers.get("Z", 4, 3, F32)
    buffers.clear()
    assert not buffers._arrays and not buffers._views
    assert buffers.get("Z", 4, 3, F32) is not view
    for rows in range(1, 3 * _MAX_VIEWS):
        assert buffers.get("Z", rows, 3, F32).shape == (rows, 3)
    assert len(buffers._views) <= _MAX_VIEWS


def test_constant_buffers_hold_their_values_after_growth():
    buffers = Buffers()
    assert buffers.ones(3, F32) is buffers.ones(3, F32)
    for n in (3, 50):
        np.testing.assert_array_equal(buffers.ones(n, F32), np.ones(n))
        np.testing.assert_array_equal(buffers.zeros(n, 4, F32), np.zeros((n, 4)))
        np.testing.assert_array_equal(buffers.arange(n), np.arange(n))
    assert buffers.arange(5).dtype == np.intp
