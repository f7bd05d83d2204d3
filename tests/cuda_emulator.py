"""The GPU's kernels on the CPU, for machines without a GPU: ``EmulatedCupyOps`` is
:class:`fcnet._ops.cupy_ops.CupyOps` with NumPy arrays in place of CuPy's, whose fused passes run
the CUDA source of :mod:`fcnet._ops.cuda_source` compiled by the system's C++ compiler.

So the suite tests, without a GPU, both the kernels' formulas (the same text CuPy compiles) and
CupyOps' code around them (which kernel, which arguments in which order, which dtypes).

* An element-wise kernel becomes a C++ loop over the elements, with each array's element bound
  to the name the body uses (``const T b = b_[i]`` for an input, ``T& z = z_[i]`` for an output),
  its ``raw`` arrays as pointers and its scalars as values, instantiated for float and double.
  A call checks what CuPy would (an array's dtype is the kernel's T, a scalar is a NumPy scalar
  of T, not a Python float or a float64 that would make a float32 kernel compute in float64),
  broadcasts the array inputs to the outputs' shape as CuPy does, and copies a non-contiguous
  output in and out.
* A row kernel (``__global__``) runs once a thread of its launch, every thread of every block
  (those past the last row too), with ``blockIdx``, ``blockDim`` and ``threadIdx`` set.

The products, gathers and reductions are NumPy's (the base :class:`fcnet._ops.Ops`): cuBLAS is
not emulated.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from fcnet._ops import cuda_source, cuda_tables
from fcnet._ops.base import Ops
from fcnet._ops.cupy_ops import CupyOps
from fcnet._ops.tables import Tables

COMPILER = shutil.which("g++") or shutil.which("c++")

_HEADER = """
#include <cmath>
using namespace std;
#define __device__
#define __global__
struct fcnet_dim { long long x; };
static fcnet_dim blockIdx = {0}, blockDim = {1}, threadIdx = {0}, gridDim = {1};
extern "C" void fcnet_set_thread(long long grid, long long block, long long size,
                                 long long thread) {
    gridDim.x = grid; blockIdx.x = block; blockDim.x = size; threadIdx.x = thread;
}
"""

#: CuPy's names of the types a kernel declares, in C++ and in ctypes (T: the float type)
_C_NAMES = {"bool": "bool", "int64": "long long", "uint64": "unsigned long long"}
_C_NAMES.update({"float32": "float", "float64": "double"})
_CTYPES = {"float32": ctypes.c_float, "float64": ctypes.c_double, "int64": ctypes.c_longlong}
_CTYPES["uint64"] = ctypes.c_uint64
_SUFFIX = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}


def _param(spec: str) -> tuple[str, str]:
    """'T b' -> ('T', 'b'); 'raw bool ok' -> ('bool', 'ok')."""
    words = spec.split()
    return words[-2], words[-1]


def _elementwise_source(kernel: cuda_source.Elementwise) -> str:
    args, binds = ["long long n_"], []

    def c(kind: str) -> str:
        return "T" if kind == "T" else _C_NAMES[kind]

    for spec in kernel.arrays:
        kind, name = _param(spec)
        args.append(f"const {c(kind)}* {name}_")
        binds.append(f"const {c(kind)} {name} = {name}_[i_];")
    for spec in kernel.scalars:
        kind, name = _param(spec)
        args.append(f"{c(kind)} {name}")
    args += [f"const {c(kind)}* {name}" for kind, name in map(_param, kernel.raw)]
    for spec in kernel.outputs:
        kind, name = _param(spec)
        args.append(f"{c(kind)}* {name}_")
        binds.append(f"{c(kind)}& {name} = {name}_[i_];")
    signature = ", ".join(args)
    lines = [
        f"template <typename T> static void {kernel.name}_impl({signature}) {{",
        "    for (long long i_ = 0; i_ < n_; ++i_) {",
        "        const long long i = i_;  // CuPy's index of the element",
        *(f"        {bind}" for bind in binds),
        f"        {kernel.body}",
        "    }",
        "}",
    ]
    names = ["n_"] + [_param(s)[1] + "_" for s in kernel.arrays]
    names += [_param(s)[1] for s in (*kernel.scalars, *kernel.raw)]
    names += [_param(s)[1] + "_" for s in kernel.outputs]
    for suffix, c_type in _SUFFIX.values():
        concrete = ", ".join(
            a.replace("T*", f"{c_type}*").replace("T ", f"{c_type} ") for a in args
        )
        lines.append(
            f'extern "C" void {kernel.name}_{suffix}({concrete}) '
            f"{{ {kernel.name}_impl<{c_type}>({', '.join(names)}); }}"
        )
    return "\n".join(lines)


def source() -> str:
    """The translation unit: every element-wise kernel, the row kernels' module, the
    optimizers' table kernels."""
    kernels = "\n".join(map(_elementwise_source, cuda_source.every_elementwise()))
    return _HEADER + kernels + cuda_source.ROW_MODULE + cuda_tables.module()


def _library() -> ctypes.CDLL:
    """The compiled source, built once per source text (in the temporary directory)."""
    text = source()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "fcnet-cuda-emulator"
    folder.mkdir(exist_ok=True)
    library = folder / f"kernels-{digest}.so"
    if not library.exists():
        cpp = folder / f"kernels-{digest}.cpp"
        cpp.write_text(text)
        partial = folder / f"kernels-{digest}.{np.random.default_rng().integers(1 << 30)}.so"
        command = [COMPILER, "-O1", "-shared", "-fPIC", "-std=c++14", str(cpp), "-o", str(partial)]
        subprocess.run(command, check=True, capture_output=True, text=True)
        partial.replace(library)  # atomic: a concurrent run sees a whole library or none
    return ctypes.CDLL(str(library))


class _Elementwise:
    """A compiled element-wise kernel, called as CuPy calls one: inputs, then outputs."""

    def __init__(
        self, library: ctypes.CDLL, kernel: cuda_source.Elementwise, calls: Counter
    ) -> None:
        self.library, self.kernel, self.calls = library, kernel, calls

    def __call__(self, *args: Any) -> None:
        kernel = self.kernel
        self.calls[kernel.name] += 1
        n_arrays, n_scalars, n_raw = len(kernel.arrays), len(kernel.scalars), len(kernel.raw)
        arrays = args[:n_arrays]
        scalars = args[n_arrays : n_arrays + n_scalars]
        raw = args[n_arrays + n_scalars : n_arrays + n_scalars + n_raw]
        outputs = args[n_arrays + n_scalars + n_raw :]
        assert len(outputs) == len(kernel.outputs), (kernel.name, len(args))
        kinds = {"arrays": [], "scalars": [], "raw": [], "outputs": []}
        for group in kinds:
            kinds[group] = [_param(spec)[0] for spec in getattr(kernel, group)]
        # T: the dtype of the first array declared T (inputs first, as CuPy decides it)
        typed = [a for a, k in zip((*arrays, *raw, *outputs), (*kinds["arrays"], *kinds["raw"],
                 *kinds["outputs"]), strict=True) if k == "T"]  # fmt: skip
        dtype = typed[0].dtype
        suffix = _SUFFIX[dtype][0]
        for group, values in (("arrays", arrays), ("raw", raw), ("outputs", outputs)):
            for a, kind in zip(values, kinds[group], strict=True):
                expected = dtype if kind == "T" else np.dtype(kind)
                assert isinstance(a, np.ndarray) and a.dtype == expected, (kernel.name, a.dtype)
        for x, kind in zip(scalars, kinds["scalars"], strict=True):  # rounded by the caller
            assert type(x) is (dtype.type if kind == "T" else np.dtype(kind).type), (kernel, x)
        for a in raw:
            assert a.flags.c_contiguous, kernel.name
        shape = outputs[0].shape
        assert all(out.shape == shape for out in outputs), kernel.name
        inputs = [np.ascontiguousarray(np.broadcast_to(a, shape)) for a in arrays]
        work = [out if out.flags.c_contiguous else np.ascontiguousarray(out) for out in outputs]
        c_args: list[Any] = [ctypes.c_longlong(int(np.prod(shape)))]
        c_args += [a.ctypes.data_as(ctypes.c_void_p) for a in inputs]
        for x, kind in zip(scalars, kinds["scalars"], strict=True):
            c_kind = dtype.name if kind == "T" else kind
            c_args.append(_CTYPES[c_kind](x.item()))
        c_args += [a.ctypes.data_as(ctypes.c_void_p) for a in (*raw, *work)]
        getattr(self.library, f"{kernel.name}_{suffix}")(*c_args)
        for out, done in zip(outputs, work, strict=True):
            if out is not done:
                out[...] = done


class _RowFunction:
    """A compiled ``__global__`` row function, launched as ``f(grid, block, args)``."""

    def __init__(self, library: ctypes.CDLL, name: str, calls: Counter) -> None:
        self.library, self.function = library, getattr(library, name)
        self.name, self.calls = name, calls

    def __call__(self, grid: tuple[int], block: tuple[int], args: tuple[Any, ...]) -> None:
        self.calls[self.name] += 1
        c_args = []
        for a in args:
            if isinstance(a, np.ndarray):
                assert a.flags.c_contiguous
                c_args.append(a.ctypes.data_as(ctypes.c_void_p))
            else:  # a NumPy scalar of the parameter's type: a Python number would not do
                assert type(a) in _LAUNCH_SCALARS, type(a)
                c_args.append(_LAUNCH_SCALARS[type(a)](a.item()))
        for b in range(grid[0]):
            for t in range(block[0]):
                self.library.fcnet_set_thread(*map(ctypes.c_longlong, (grid[0], b, block[0], t)))
                self.function(*c_args)


_LAUNCH_SCALARS = {
    np.int64: ctypes.c_longlong,
    np.int32: ctypes.c_int,
    np.float32: ctypes.c_float,
    np.float64: ctypes.c_double,
}


class EmulatedCupyOps(CupyOps):
    """CupyOps on NumPy arrays, its kernels compiled for the CPU (see the module docstring)."""

    name = "emulated-gpu"

    def __init__(self) -> None:  # no CuPy: what CupyOps.__init__ makes, on the host
        self.xp = self._cp = np
        self._kernels = {}
        self._tables = Tables()
        self._rows = None
        self._open = np.ones(1, dtype=np.bool_)
        self._library = _library()
        self.calls: Counter = Counter()  # kernel name -> launches

    def _kernel(self, spec: cuda_source.Elementwise) -> Any:
        kernel = self._kernels.get(spec)
        if kernel is None:
            kernel = self._kernels[spec] = _Elementwise(self._library, spec, self.calls)
        return kernel

    def _row_function(self, name: str) -> Any:
        return _RowFunction(self._library, name, self.calls)

    _table_function = _row_function

    def _address(self, a: Any) -> int:
        return a.ctypes.data

    def _upload(self, device: Any, host: np.ndarray) -> None:
        device[...] = host

    # what the emulation leaves to NumPy: the base class's code
    empty, zeros, is_array, asarray = Ops.empty, Ops.zeros, Ops.is_array, Ops.asarray
    to_host, item, gemm = Ops.to_host, Ops.item, Ops.gemm
    sum_of_squares, take_rows = Ops.sum_of_squares, Ops.take_rows
    normal_cdf, normal_pdf = Ops.normal_cdf, Ops.normal_pdf
