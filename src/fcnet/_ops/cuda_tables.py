"""Every parameter's optimizer update in one CUDA kernel: the source, generated from the
one-parameter kernels of :mod:`fcnet._ops.cuda_source` so that both compute the same statements.

A launch walks the elements of all the parameters as one range. The parameters are rows of a
table of addresses (one row a parameter: p, g, then the state arrays, in the columns
:data:`COLUMNS` names; an option that is off points at p, unused); ``offsets`` holds where each
row's elements start in the range (rows + 1 entries, the last the total). Element e belongs to
the row r with offsets[r] <= e < offsets[r + 1] (found by a scan: a model has few parameters),
and is element e - offsets[r] of its arrays. Each row's learning rate comes from ``lrs``
(float64), and the scalars that depend on it are computed from it in float64 and rounded once,
as the one-parameter route computes them on the host:

* SGD and RMSprop: ``lr``;
* Adam: ``step = -(lr / bias1)``, and ``decay = 1 - lr wd`` with no L2 term (AdamW), or
  ``decay = 1`` and the L2 term ``wd`` (Adam).

The gate ``ok[0]`` is read first: where it is false the kernel writes nothing.
"""

from __future__ import annotations

import functools

from fcnet._ops import cuda_source
from fcnet._ops.cuda_source import Elementwise

#: The table's columns, by optimizer.
COLUMNS = {
    "sgd": ("p", "g", "v"),
    "adam": ("p", "g", "m", "v"),
    "rmsprop": ("p", "g", "v", "c", "b"),
}

#: The scalars computed per row from its learning rate ``rate`` (and the kernel's float64
#: parameters).
PER_ROW = {
    "sgd": {"lr": "(T)rate"},
    "rmsprop": {"lr": "(T)rate"},
    "adam": {
        "step": "(T)(-(rate / bias1))",
        "decay": "decoupled ? (T)(1.0 - rate * wd) : (T)1",
        "weight_decay": "decoupled ? (T)0 : (T)wd",
    },
}

#: The kernel's own parameters besides the table, before the shared scalars.
_EXTRA = {"sgd": (), "rmsprop": (), "adam": ("double bias1", "double wd", "int decoupled")}


def kinds() -> dict[str, list[Elementwise]]:
    """The one-parameter kernels that have a table form, by optimizer (SGD's first step has
    none: it starts the momentum key by key)."""
    sgd = [
        cuda_source.sgd(momentum=m, nesterov=n, first=False)
        for m in (False, True)
        for n in (False, True)
        if m or not n
    ]
    rmsprop = [
        cuda_source.rmsprop(centered=c, momentum=m) for c in (False, True) for m in (False, True)
    ]
    return {"sgd": sgd, "adam": [cuda_source.adam()], "rmsprop": rmsprop}


def name(spec: Elementwise) -> str:
    """The table kernel's name for one of :func:`kinds`' kernels (then ``_f32`` or ``_f64``)."""
    return spec.name + "_table"


def _source(kind: str, spec: Elementwise) -> str:
    columns = COLUMNS[kind]
    per_row = PER_ROW[kind]
    shared = [s for s in spec.scalars if s.split()[-1] not in per_row]  # after the _EXTRA
    params = [
        "const unsigned long long* table",
        "const long long* offsets",
        "long long rows",
        "const double* lrs",
        *_EXTRA[kind],
        *shared,
        "const bool* ok",
    ]
    binds = []
    for declared in (*spec.arrays, *spec.outputs):
        _, var = declared.split()
        column = columns.index(var)
        const = "const " if declared in spec.arrays else ""
        ref = "" if const else "&"
        binds.append(f"{const}T{ref} {var} = (({const}T*)table[r * {len(columns)} + {column}])[j];")
    lines = [
        f"template <typename T> __device__ void {name(spec)}_impl({', '.join(params)}) {{",
        "    if (!ok[0]) return;",
        "    const long long total = offsets[rows];",
        "    const long long stride = (long long)blockDim.x * gridDim.x;",
        "    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;",
        "         e += stride) {",
        "        long long r = 0;",
        "        while (r + 1 < rows && offsets[r + 1] <= e) ++r;",
        "        const long long j = e - offsets[r];",
        "        const double rate = lrs[r];  /* the row's learning rate */",
        *(f"        const T {var} = {expr};" for var, expr in per_row.items()),
        *(f"        {bind}" for bind in binds),
        f"        {spec.body}",
        "    }",
        "}",
    ]
    names = [p.split()[-1] for p in params]
    for suffix, c in (("f32", "float"), ("f64", "double")):
        concrete = ", ".join(p.replace("T ", f"{c} ") for p in params)
        lines.append(
            f'extern "C" __global__ void {name(spec)}_{suffix}({concrete}) '
            f"{{ {name(spec)}_impl<{c}>({', '.join(names)}); }}"
        )
    return "\n".join(lines)


@functools.cache
def module() -> str:
    """The source of every table kernel (one module, compiled at its first use)."""
    return "\n".join(_source(kind, spec) for kind, specs in kinds().items() for spec in specs)
