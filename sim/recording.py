"""Recording: the months' metrics measured in stacked calls (no Mesa: the stacked engine imports it).

The Mesa face of a record, a DataCollector on one numpy array, is :class:`sim.model.ArrayDataCollector`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Memory the months of metric inputs waiting to be measured may take (bytes). A 2018-world run
# (13 states, 86 months: 0.5 MB) is measured in one call at the end; a 1,000-state world (32 MB
# a month) month by month, as before.
DEFERRED_BYTES = 16 * 2**20


class DeferredMeasure:
    """Months of metric inputs, measured together in one stacked call.

    The metrics (:func:`sim.metrics.measure_into`) are some 30 small numpy calls a month, each
    costing about 1 us whatever its size at 13 states: for one run that was a fifth of its time.
    They are pure functions of the month's arrays that work on stacks, and a stack of months is
    measured slice by slice with the same operations in the same order, so buffering the
    month's inputs (one copy each) and measuring ``k`` months in one call gives the same
    numbers, bit for bit, for a fraction of the calls.

    ``measure(out, **inputs)`` fills ``out`` (shape (K, columns)) from inputs stacked as (K, ...).
    Each :meth:`push` takes one month's inputs, each of shape ``batch + shape`` (``batch`` is
    ``()`` for one model, ``(R,)`` for R replications); the buffer holds as many months as fit
    in ``max_bytes`` (default ``DEFERRED_BYTES``), at most ``capacity`` and at least one. When it
    is full, ``push`` returns the metrics of the buffered months, shape (k, *batch, columns);
    :meth:`flush` returns those of the months still waiting (k may be 0). ``per_slice`` holds
    arguments of ``measure`` with one value per slice (shape ``batch``), passed lined up with the
    flattened months.
    """

    def __init__(self, measure: Callable[..., Any], columns: int, *, capacity: int, batch: tuple[int, ...] = (),
                 max_bytes: int | None = None, per_slice: dict[str, np.ndarray] | None = None) -> None:
        self.measure = measure
        self.per_slice = dict(per_slice or {})
        self.columns = columns
        self.capacity = max(capacity, 1)
        self.batch = batch
        self.max_bytes = DEFERRED_BYTES if max_bytes is None else max_bytes
        self.months = 0  # months waiting to be measured
        self.chunk = 0  # months the buffer holds, set by the first push
        self._buffers: dict[str, np.ndarray] | None = None

    def push(self, **inputs: np.ndarray) -> np.ndarray | None:
        """Buffer one month's inputs; the buffered months' metrics when the buffer is full, else None."""
        if self._buffers is None:
            per_month = sum(a.nbytes for a in inputs.values())
            self.chunk = max(1, min(self.capacity, self.max_bytes // max(per_month, 1)))
            self._buffers = {k: np.empty((self.chunk, *a.shape), dtype=a.dtype) for k, a in inputs.items()
                             } if self.chunk > 1 else {}
        if self.chunk == 1:  # measured at once: nothing to copy
            return self._measure(1, {k: a[None] for k, a in inputs.items()})
        for k, a in inputs.items():
            self._buffers[k][self.months] = a
        self.months += 1
        return self.flush() if self.months == self.chunk else None

    def flush(self) -> np.ndarray:
        """The metrics of the months waiting, shape (k, *batch, columns); the buffer is then empty."""
        k, self.months = self.months, 0
        if not self._buffers or k == 0:
            return np.empty((0, *self.batch, self.columns))
        return self._measure(k, {name: b[:k] for name, b in self._buffers.items()})

    def _measure(self, k: int, stacked: dict[str, np.ndarray]) -> np.ndarray:
        lead = 1 + len(self.batch)
        size = k * int(np.prod(self.batch, dtype=np.int64))
        flat = {name: a.reshape(size, *a.shape[lead:]) for name, a in stacked.items()}
        out = np.empty((size, self.columns))
        for name, values in self.per_slice.items():
            flat[name] = np.broadcast_to(values, (k, *self.batch)).reshape(size)
        self.measure(out, **flat)
        return out.reshape(k, *self.batch, self.columns)
