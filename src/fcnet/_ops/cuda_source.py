"""The CUDA source of the GPU's fused passes, as text: each the same formula, in the same order
of operations, as the NumPy reference beside its equation (:mod:`fcnet.activations`,
:mod:`fcnet.losses`, :mod:`fcnet.optimizers`), written once here for
:class:`~fcnet._ops.cupy_ops.CupyOps`, which compiles it with CuPy at first use.

Nothing here imports CuPy: the test suite compiles the same text on the CPU with a C++ compiler
and checks it against NumPy (``tests/test_cuda_source.py``), so that every formula is tested on
machines without a GPU too.

Three kinds of kernel:

* element-wise (:class:`Elementwise`, a ``cupy.ElementwiseKernel``): ``T`` is the arrays' float
  type, each name an element of its array (inputs read-only), ``raw`` names a whole array;
* one thread a row (:data:`ROWS`, templates on one row of ``k`` entries, and :data:`WRAPPERS`,
  the ``__global__`` functions that call them, one per float type): the losses, whose per-sample
  value is a sum over the row;
* the gate: every optimizer update reads ``ok[0]`` (a device-side flag: no value of this epoch
  was NaN or inf) and writes nothing when it is false, so a step that would write NaN writes
  nothing, with no read back to the host.

NaN and inf pass through as NumPy's passes pass them (``np.maximum`` keeps a NaN, so ReLU here is
``z < 0 ? 0 : z``, not ``fmax``), so that the divergence check sees what it sees on the CPU.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

# 1 / sqrt(2) and 1 / sqrt(2 pi), for GELU's Phi(z) = erfc(-z / sqrt 2) / 2 and phi(z)
_PHI = "((T)0.5 * erfc(-z * (T)0.70710678118654752))"
_DENSITY = "((T)0.39894228040143268 * exp((T)-0.5 * z * z))"
_SIGMOID = "T e = exp(-fabs(z)); T t = e / ((T)1 + e); T s = z >= (T)0 ? (T)1 - t : t;"

#: f(z), given z (the product plus the bias) and ``alpha`` (LeakyReLU's slope, ELU's scale);
#: the statement sets ``a``.
FORWARD = {
    "relu": "a = z < (T)0 ? (T)0 : z;",
    "leaky_relu": "T t = z * alpha; a = z > t ? z : t;",  # max(z, alpha z), NaN kept
    "elu": "T neg = z > (T)0 ? (T)0 : z; a = z > (T)0 ? z : expm1(neg) * alpha;",
    "gelu": f"a = {_PHI} * z;",
    "sigmoid": _SIGMOID + " a = s;",
    "tanh": "a = tanh(z);",
    "softplus": "a = log1p(exp(-fabs(z))) + (z < (T)0 ? (T)0 : z);",
}

#: dZ = dA * f'(z), given ``da``, ``z``, ``a`` = f(z) and ``alpha``; the statement sets ``dz``.
BACKWARD = {
    "relu": "dz = (z > (T)0 ? (T)1 : (T)0) * da;",
    "leaky_relu": "dz = (z > (T)0 ? (T)1 : alpha) * da;",
    "elu": "dz = (z > (T)0 ? (T)1 : a + alpha) * da;",
    "gelu": f"dz = ({_PHI} + {_DENSITY} * z) * da;",
    "sigmoid": "dz = ((T)1 - a) * a * da;",
    "tanh": "dz = ((T)1 - a * a) * da;",
    "softplus": _SIGMOID + " dz = s * da;",
}


@dataclass(frozen=True)
class Elementwise:
    """One element-wise kernel: ``cupy.ElementwiseKernel(in_params, out_params, body, name)``.

    Its inputs, in the order a call passes them: ``arrays`` (broadcast to the outputs' shape),
    ``scalars`` (rounded to T by the caller), ``raw`` (whole arrays, indexed by the body); then
    the ``outputs``, which the body may read too.
    """

    name: str
    arrays: tuple[str, ...]
    scalars: tuple[str, ...]
    outputs: tuple[str, ...]
    body: str
    raw: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return (*self.arrays, *self.scalars, *self.raw)

    @property
    def scalar_names(self) -> tuple[str, ...]:
        return tuple(spec.split()[-1] for spec in self.scalars)

    def scalar_values(self, named: dict[str, float], dtype: Any, skip: Any = ()) -> list[Any]:
        """The kernel's scalars, in order, from ``named`` (a value by name), each rounded once
        to ``dtype`` as NumPy rounds a Python float that meets an array of it (``skip``: names
        a table kernel computes itself)."""
        return [dtype.type(named[name]) for name in self.scalar_names if name not in skip]

    @property
    def in_params(self) -> str:
        return ", ".join(self.inputs)

    @property
    def out_params(self) -> str:
        return ", ".join(self.outputs)


@functools.cache
def bias_activation(name: str, *, in_place: bool) -> Elementwise:
    """``z <- z + b`` then ``a <- f(z)`` (``in_place``: f written over z, for inference)."""
    if in_place:
        body = "{ T a; z = z + b; " + FORWARD[name] + " z = a; }"
        return Elementwise(f"fcnet_infer_{name}", ("T b",), ("T alpha",), ("T z",), body)
    body = "{ z = z + b; " + FORWARD[name] + " }"
    return Elementwise(f"fcnet_forward_{name}", ("T b",), ("T alpha",), ("T z", "T a"), body)


@functools.cache
def activation_backward(name: str) -> Elementwise:
    """``dz <- da * f'(z)``."""
    body = "{ " + BACKWARD[name] + " }"
    arrays = ("T da", "T z", "T a")
    return Elementwise(f"fcnet_backward_{name}", arrays, ("T alpha",), ("T dz",), body)


# --- the optimizers ---------------------------------------------------------------------------
# The scalars come rounded to T, as NumPy rounds a Python float that meets a float32 array;
# ``keep`` is 1 - dampening (SGD) or 1 - alpha (RMSprop), ``keep1``/``keep2`` are 1 - beta_k.


@functools.cache
def sgd(*, momentum: bool, nesterov: bool, first: bool) -> Elementwise:
    """torch.optim.SGD: d = g + wd p; v <- d (first step) or momentum v + keep d; d <- d +
    momentum v (Nesterov) or v; p <- p - lr d. Without momentum there is no ``v``."""
    if not momentum:
        nesterov = first = False
    scalars = ("T lr", "T momentum", "T keep", "T weight_decay")
    lines = ["T d = weight_decay != (T)0 ? g + weight_decay * p : g;"]
    outputs: tuple[str, ...] = ("T p",)
    if momentum:
        outputs = ("T p", "T v")
        lines.append("T u = d;" if first else "T u = v * momentum + keep * d;")
        lines.append("v = u;")
        lines.append("d = d + momentum * u;" if nesterov else "d = u;")
    lines.append("p = p - lr * d;")
    name = f"fcnet_sgd_{int(momentum)}{int(nesterov)}{int(first)}"
    return Elementwise(name, ("T g",), scalars, outputs, _gated(lines), GATE)


@functools.cache
def adam() -> Elementwise:
    """torch.optim.Adam, and AdamW through ``decay`` = 1 - lr wd (applied first; else the L2
    term ``weight_decay`` adds wd p to g)::

        m <- beta1 m + keep1 g;  v <- beta2 v + keep2 g^2
        p <- p + step (m / (sqrt(v) / sqrt(1 - beta2^t) + eps)),  step = -lr / (1 - beta1^t)
    """
    scalars = ("T step", "T beta1", "T keep1", "T beta2", "T keep2", "T eps", "T sqrt_bias2")
    lines = [
        "T x = decay != (T)1 ? p * decay : p;",
        "T d = weight_decay != (T)0 ? g + weight_decay * x : g;",
        "T mi = m * beta1 + keep1 * d;",
        "T vi = v * beta2 + keep2 * (d * d);",
        "m = mi;",
        "v = vi;",
        "p = x + step * (mi / (sqrt(vi) / sqrt_bias2 + eps));",
    ]
    scalars = (*scalars, "T weight_decay", "T decay")
    return Elementwise("fcnet_adam", ("T g",), scalars, ("T p", "T m", "T v"), _gated(lines), GATE)


@functools.cache
def rmsprop(*, centered: bool, momentum: bool) -> Elementwise:
    """torch.optim.RMSprop: d = g + wd p; v <- alpha v + keep d^2; a = sqrt(v - c^2) + eps with
    c <- alpha c + keep d (centered), else sqrt(v) + eps; b <- momentum b + d / a and
    p <- p - lr b (momentum), else p <- p - lr d / a."""
    lines = [
        "T d = weight_decay != (T)0 ? g + weight_decay * p : g;",
        "T vi = v * alpha + keep * (d * d);",
        "v = vi;",
    ]
    outputs = ["T p", "T v"]
    if centered:
        outputs.append("T c")
        lines += ["T ci = c * alpha + keep * d;", "c = ci;", "T a = sqrt(vi - ci * ci) + eps;"]
    else:
        lines.append("T a = sqrt(vi) + eps;")
    if momentum:
        outputs.append("T b")
        lines += ["T bi = b * momentum + d / a;", "b = bi;", "p = p - lr * bi;"]
    else:
        lines.append("p = p - lr * (d / a);")
    scalars = ("T lr", "T alpha", "T keep", "T eps", "T weight_decay", "T momentum")
    name = f"fcnet_rmsprop_{int(centered)}{int(momentum)}"
    return Elementwise(name, ("T g",), scalars, tuple(outputs), _gated(lines), GATE)


#: The gate's parameter: a one-element boolean array.
GATE = ("raw bool ok",)


def _gated(lines: list[str]) -> str:
    """The statements, run only where the gate ``ok[0]`` is true."""
    return "if (ok[0]) { " + " ".join(lines) + " }"


@functools.cache
def uniform() -> Elementwise:
    """U[0, 1) draws on the device: element i of the output is a hash of (key, i), SplitMix64's
    finaliser, of which the top 24 bits (float32) or 53 bits (float64) scaled by 2^-24 or 2^-53,
    exact in T and so below 1. ``key`` is one 64-bit draw from the layer's seeded generator per
    call, so the masks follow the generator, whose state checkpoints keep, and nothing but the
    key crosses from the host. ``i`` is the element's index (CuPy's loop index)."""
    lines = [
        "unsigned long long x = key + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ULL;",
        "x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;",
        "x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;",
        "x = x ^ (x >> 31);",
        "u = sizeof(T) == 4 ? (T)((double)(x >> 40) * (1.0 / 16777216.0))",
        "                   : (T)((double)(x >> 11) * (1.0 / 9007199254740992.0));",
    ]
    body = "{ " + " ".join(lines) + " }"
    return Elementwise("fcnet_uniform", (), ("uint64 key",), ("T u",), body)


# --- the divergence guard's bookkeeping, one kernel each ----------------------------------------
@functools.cache
def note_nonfinite() -> Elementwise:
    """bad |= not finite(v), with the step it first happened at, and gate = not bad."""
    body = (
        "{ bool now = !isfinite(v); if (now && !bad) first = step; bad = bad || now; gate = !bad; }"
    )
    outputs = ("bool bad", "int64 first", "bool gate")
    return Elementwise("fcnet_note_nonfinite", ("T v",), ("int64 step",), outputs, body)


@functools.cache
def accumulate() -> Elementwise:
    """total <- total + v w, in float64 (a batch's mean loss times its weight)."""
    body = "total = total + (double)v * w;"
    return Elementwise("fcnet_accumulate", ("T v",), ("float64 w",), ("float64 total",), body)


@functools.cache
def axpy() -> Elementwise:
    """y <- y + alpha x."""
    return Elementwise("fcnet_axpy", ("T x",), ("T alpha",), ("T y",), "y += alpha * x;")


def suffix(dtype: object) -> str:
    """The suffix of a row or table kernel's name for arrays of ``dtype``: ``_f32``, ``_f64``."""
    return "_f32" if getattr(dtype, "itemsize", 8) == 4 else "_f64"


def every_elementwise() -> list[Elementwise]:
    """Every element-wise kernel a :class:`~fcnet._ops.cupy_ops.CupyOps` may make."""
    kernels = []
    for name in FORWARD:
        kernels += [bias_activation(name, in_place=False), bias_activation(name, in_place=True)]
        kernels.append(activation_backward(name))
    on_off = (False, True)
    kernels += [
        sgd(momentum=m, nesterov=n, first=f) for m in on_off for n in on_off for f in on_off
    ]
    kernels += [rmsprop(centered=c, momentum=m) for c in on_off for m in on_off]
    kernels += [adam(), uniform(), note_nonfinite(), accumulate(), axpy()]
    return list(dict.fromkeys(kernels))  # one of each (SGD without momentum has one form)


# --- the losses: one thread a row ----------------------------------------------------------
#: Row functions: ``z`` (or ``yhat``), ``y`` and ``dy`` point at one row of k entries; ``loss``
#: at the row's per-sample loss. dy is the gradient before the 1/m of the mean (the caller's).
ROWS = r"""
template <typename T>
__device__ T fcnet_row_max(const T* z, long long k) {
    T top = z[0];
    for (long long j = 1; j < k; ++j) {
        T v = z[j];
        top = (v > top || v != v) ? v : top;  /* NaN kept, as np.maximum */
    }
    return top;
}

/* softmax and log-sum-exp: dy <- P, returns log sum_j e^(z_j - max z) and the max */
template <typename T>
__device__ T fcnet_row_softmax(const T* z, long long k, T* dy, T* top) {
    T shift = fcnet_row_max<T>(z, k);
    T total = (T)0;
    for (long long j = 0; j < k; ++j) {
        T e = exp(z[j] - shift);
        dy[j] = e;
        total += e;
    }
    for (long long j = 0; j < k; ++j) dy[j] /= total;
    *top = shift;
    return log(total);
}

/* L_i = lse - s_{i,y_i}; dy = P - onehot(y_i) */
template <typename T>
__device__ void fcnet_softmax_ce_label(const T* z, long long k, long long label, T* dy,
                                       T* loss) {
    T shift;
    T lse = fcnet_row_softmax<T>(z, k, dy, &shift);
    *loss = lse - (z[label] - shift);
    dy[label] -= (T)1;
}

/* L_i = lse sum_j y_j - sum_j y_j s_j; dy = P - Y */
template <typename T>
__device__ void fcnet_softmax_ce_probabilities(const T* z, const T* y, long long k, T* dy,
                                               T* loss) {
    T shift;
    T lse = fcnet_row_softmax<T>(z, k, dy, &shift);
    T mass = (T)0, dot = (T)0;
    for (long long j = 0; j < k; ++j) {
        mass += y[j];
        dot += y[j] * (z[j] - shift);
        dy[j] -= y[j];
    }
    *loss = mass * lse - dot;
}

/* L_i = 1/2 sum_j (yhat_j - y_j)^2; dy = yhat - y */
template <typename T>
__device__ void fcnet_squared_error(const T* yhat, const T* y, long long k, T* dy, T* loss) {
    T total = (T)0;
    for (long long j = 0; j < k; ++j) {
        T r = yhat[j] - y[j];
        dy[j] = r;
        total += r * r;
    }
    *loss = total * (T)0.5;
}
"""

#: The ``__global__`` functions, ``<name>_f32`` and ``<name>_f64``: thread i takes row i of
#: C-contiguous (m, k) arrays.
_WRAPPER = r"""
extern "C" __global__ void fcnet_softmax_ce_labels_SUFFIX(
        const T* z, const long long* y, T* dy, T* loss, long long m, long long k) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < m) fcnet_softmax_ce_label<T>(z + i * k, k, y[i], dy + i * k, loss + i);
}
extern "C" __global__ void fcnet_softmax_ce_probabilities_SUFFIX(
        const T* z, const T* y, T* dy, T* loss, long long m, long long k) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < m) fcnet_softmax_ce_probabilities<T>(z + i * k, y + i * k, k, dy + i * k, loss + i);
}
extern "C" __global__ void fcnet_squared_error_SUFFIX(
        const T* yhat, const T* y, T* dy, T* loss, long long m, long long k) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < m) fcnet_squared_error<T>(yhat + i * k, y + i * k, k, dy + i * k, loss + i);
}
"""

WRAPPERS = "".join(
    _WRAPPER.replace("SUFFIX", suffix).replace("T*", f"{c}*").replace("<T>", f"<{c}>")
    for suffix, c in (("f32", "float"), ("f64", "double"))
)

#: The source of the row kernels' module.
ROW_MODULE = ROWS + WRAPPERS
