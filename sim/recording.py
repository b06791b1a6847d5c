"""Recording: Mesa's DataCollector with the month's metrics in one preallocated numpy array."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd


class ArrayDataCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` whose model variables live in one float array, a row per collect.

    Mesa's own ``collect`` calls one reporter per column and deep-copies every value; with 28
    columns that cost more than the model's whole month. Here the model writes the month's
    metrics into ``model.metric_row`` and ``collect`` copies that row and ``model.date``.
    ``get_model_vars_dataframe()`` gives the table a DataCollector with the reporters in
    ``model_reporters`` would give: ``date`` first, then one float column per metric.
    ``values`` (rows collected so far: ``rows``), ``columns`` and ``dates`` are the raw record.
    """

    def __init__(self, columns: Sequence[str], capacity: int) -> None:
        super().__init__()
        self.columns = tuple(columns)
        self.values = np.empty((max(capacity, 1), len(self.columns)))
        self.dates: list[str] = []
        self.rows = 0
        # What each column is, as Mesa model reporters (a plain DataCollector given these records
        # the same table); collect() below does their work in one row copy.
        self.model_reporters = {"date": "date"} | {c: _column(k) for k, c in enumerate(self.columns)}

    @property
    def model_vars(self) -> dict[str, list[Any]]:
        """Mesa's column lists, built from the array on demand."""
        out: dict[str, list[Any]] = {"date": list(self.dates)}
        for k, column in enumerate(self.columns):
            out[column] = self.values[: self.rows, k].tolist()
        return out

    @model_vars.setter
    def model_vars(self, value: dict[str, list[Any]]) -> None:
        if value:  # DataCollector.__init__ assigns {}; anything else would be lost
            raise AttributeError("ArrayDataCollector records into .values; model_vars is read-only")

    def collect(self, model: Any) -> None:
        """Record the model's current metric row and date."""
        if self.rows == len(self.values):  # more collects than planned: grow
            self.values = np.concatenate([self.values, np.empty_like(self.values)])
        self.values[self.rows] = model.metric_row
        self.dates.append(model.date)
        self._collection_steps.append(model.time)
        self.rows += 1

    def array(self) -> np.ndarray:
        """The recorded rows, shape (rows, len(columns)) (a view: copy before the next collect if kept)."""
        return self.values[: self.rows]

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """One row per collect: ``date``, then one column per metric."""
        df = pd.DataFrame(self.values[: self.rows].copy(), columns=list(self.columns))
        df.insert(0, "date", list(self.dates))
        return df


def _column(k: int) -> Callable[[Any], float]:
    """A model reporter reading metric ``k`` of the month."""
    return lambda model: float(model.metric_row[k])
