"""Array helpers for matrices and stacks of matrices (shape (..., N, N)), used by the mechanisms.

Every mechanism takes one world's arrays, (N, N) and (N,), or a stack of R replications'
arrays, (R, N, N) and (R, N), with the parts every replication shares (calibration, events)
as plain (N, N) and (N,) that broadcast. The last two axes are always the (i, j) of a matrix.

A mechanism parameter is a float shared by every slice, or an array of shape (S,) with one
value per slice of a stack (S parameter sets stepped together); :func:`per_slice` lines it up
with the arrays it multiplies.
"""

from __future__ import annotations

import numpy as np


def transpose(x: np.ndarray) -> np.ndarray:
    """X^T of each matrix in a stack: out[..., i, j] = x[..., j, i] (a view; ``x.T`` for one matrix)."""
    return x.swapaxes(-1, -2)


def zero_diagonal(x: np.ndarray, value: float = 0.0) -> np.ndarray:
    """Set x[..., i, i] = value for every i, in place, for one matrix or a stack; returns ``x``."""
    if x.ndim == 2:
        np.fill_diagonal(x, value)
    else:
        idx = np.arange(min(x.shape[-2:]))
        x[..., idx, idx] = value
    return x


def per_slice(param: float | np.ndarray, core: int) -> float | np.ndarray:
    """A parameter ready to broadcast against arrays of ``core`` trailing axes (2 for matrices,
    1 for per-state vectors): a float as it is, one value per slice (shape (S,)) as (S, 1, ..., 1)."""
    if isinstance(param, float | int) or np.ndim(param) == 0:  # the common case first: a shared float
        return param
    return np.reshape(param, (*np.shape(param), *(1,) * core))
