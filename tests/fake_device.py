"""A fake device for the engine's tests: arrays that refuse to mix with host NumPy arrays, and an
``Ops`` that counts every allocation and every read back to the host.

``FakeDeviceArray`` is an ndarray subclass that stands for memory on a device: any NumPy
operation (ufunc or array function) given a plain ndarray beside one raises ``TypeError``, as
CuPy refuses NumPy arrays, and every conversion to a Python number or to the host
(``float()``, ``bool()``, ``.item()``, ``.tolist()``, ``FakeDeviceOps.to_host``) is counted as a
host read. Allocations counted: what ``FakeDeviceOps`` allocates or uploads, and every result a
NumPy operation had to allocate (one called without ``out=``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._ops import Ops


class Counters:
    """What the fake device saw."""

    def __init__(self) -> None:
        self.allocations = 0
        self.host_reads = 0

    def snapshot(self) -> tuple[int, int]:
        return self.allocations, self.host_reads


COUNTS = Counters()


def _is_host(x: Any) -> bool:
    return isinstance(x, np.ndarray) and not isinstance(x, FakeDeviceArray) and x.ndim > 0


def _check(who: str, values: Any) -> None:
    for x in values:
        if isinstance(x, tuple | list):
            _check(who, x)
        elif _is_host(x):
            raise TypeError(f"fake device: {who} was given a host array of shape {x.shape}")


def _unwrap(x: Any) -> Any:
    if isinstance(x, FakeDeviceArray):
        return x.view(np.ndarray)
    if isinstance(x, tuple):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    return x


def _wrap(x: Any) -> Any:
    if isinstance(x, np.ndarray) and not isinstance(x, FakeDeviceArray):
        return x.view(FakeDeviceArray)
    if isinstance(x, np.generic):  # a reduction to a scalar stays on the device
        return np.asarray(x).view(FakeDeviceArray)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    return x


class FakeDeviceArray(np.ndarray):
    """An array on the fake device (see the module docstring)."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        _check(f"{ufunc.__name__}.{method}", inputs + (out or ()))
        if out is None:
            COUNTS.allocations += 1
        else:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        if "where" in kwargs:
            kwargs["where"] = _unwrap(kwargs["where"])
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        _check(func.__name__, tuple(args) + tuple(kwargs.values()))
        out = kwargs.get("out")
        if out is None and func.__name__ not in _NO_RESULT:
            COUNTS.allocations += 1
        result = func(*_unwrap(tuple(args)), **{k: _unwrap(v) for k, v in kwargs.items()})
        if out is not None:
            return out
        return _wrap(result)

    def __setitem__(self, key: Any, value: Any) -> None:
        _check("setitem", (value,))
        np.ndarray.__setitem__(self.view(np.ndarray), _unwrap(key), _unwrap(value))

    # --- reads back to the host ------------------------------------------------------------
    def __float__(self) -> float:
        COUNTS.host_reads += 1
        return float(self.view(np.ndarray))

    def __int__(self) -> int:
        COUNTS.host_reads += 1
        return int(self.view(np.ndarray))

    def __bool__(self) -> bool:
        COUNTS.host_reads += 1
        return bool(self.view(np.ndarray))

    def __index__(self) -> int:
        COUNTS.host_reads += 1
        return int(self.view(np.ndarray))

    def item(self, *args: Any) -> Any:
        COUNTS.host_reads += 1
        return self.view(np.ndarray).item(*args)

    def tolist(self) -> Any:
        COUNTS.host_reads += 1
        return self.view(np.ndarray).tolist()


_NO_RESULT = {"copyto", "put"}  # array functions that write into an argument


class FakeDeviceOps(Ops):
    """Operations on :class:`FakeDeviceArray` (see the module docstring)."""

    name = "fake"
    host_checks = False  # as on a GPU: the step must not read back

    def empty(self, shape: Any, dtype: Any) -> FakeDeviceArray:
        COUNTS.allocations += 1
        return np.empty(shape, dtype=dtype).view(FakeDeviceArray)

    def zeros(self, shape: Any, dtype: Any) -> FakeDeviceArray:
        COUNTS.allocations += 1
        return np.zeros(shape, dtype=dtype).view(FakeDeviceArray)

    def arange(self, n: int, dtype: Any = np.intp) -> FakeDeviceArray:
        COUNTS.allocations += 1
        return np.arange(n, dtype=dtype).view(FakeDeviceArray)

    def is_array(self, a: Any) -> bool:
        return isinstance(a, FakeDeviceArray)

    def asarray(self, a: Any, dtype: Any = None) -> FakeDeviceArray:
        if isinstance(a, FakeDeviceArray) and (dtype is None or a.dtype == dtype):
            return a
        COUNTS.allocations += 1  # an upload (or a cast on the device)
        return np.array(_unwrap(a), dtype=dtype).view(FakeDeviceArray)

    def to_host(self, a: Any) -> np.ndarray:
        COUNTS.host_reads += 1
        return np.array(_unwrap(a))

    def item(self, a: Any) -> float:
        COUNTS.host_reads += 1
        return float(np.asarray(_unwrap(a)).reshape(-1)[0])

    def sum_of_squares(self, a: Any, out: Any) -> Any:
        _unwrap(out).reshape(())[...] = np.dot(_unwrap(a), _unwrap(a))  # float64 out: cast
        return out

    def normal_cdf(self, Z: Any, out: Any) -> Any:  # a device kernel of its own
        super().normal_cdf(_unwrap(Z), _unwrap(out))
        return out

    def normal_pdf(self, Z: Any, out: Any) -> Any:
        super().normal_pdf(_unwrap(Z), _unwrap(out))
        return out

    def uniform(self, rng: np.random.Generator, out: Any) -> Any:
        rng.random(out=_unwrap(out), dtype=out.dtype.type)  # the device's generator, in place
        return out
