"""``sim-validate RUN_DIR``: score a run's dyads against observed patterns (see :mod:`sim.patterns`).

Reads ``RUN_DIR/dyads.parquet`` (written by every ``sim-run`` of a scenario or a pair), scores every
scenario in it against a patterns CSV (default: the project's ``data/history/patterns_2018_2024.csv``)
and writes, into ``--out`` (default ``RUN_DIR/validation/``):

- ``patterns.csv``: one row per scenario and pattern (observed sign and confidence, tie before and
  at the end, change with its 95% interval, model sign, agree);
- ``pattern_scores.csv``: agreement of the model and of the two guesses, all cells and H+M cells;
- ``pattern_score.png``: dyads x periods, observed against model.

The world's state codes and the horizon are read from the dyads table itself (its pairs' order, its
first and last month), so any run directory can be scored without its configs. Bad input (no dyads
table, a patterns file with an unknown state, a period outside the run, a bad sign, confidence or
month, a missing column) prints one message and exits with status 2; nothing is written then, and
every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sim.patterns import (
    DyadsError,
    PatternError,
    default_patterns,
    dyads_codes,
    dyads_horizon,
    load_patterns,
    score,
    score_summary,
)
from sim.plots import plot_pattern_score
from sim.store import DamagedFileError, WriteError, read_parquet, staged, write_failure, write_figures

DYADS = "dyads.parquet"
VALIDATION = "validation"  # the default output folder inside the run directory
CELLS_FILE, SCORES_FILE, FIGURE = "patterns.csv", "pattern_scores.csv", "pattern_score"


def read_dyads(run_dir: Path) -> pd.DataFrame:
    """``run_dir/dyads.parquet``, or a :class:`DyadsError` saying why it cannot be read."""
    path = run_dir / DYADS
    if not path.is_file():
        raise DyadsError(f"{path}: no such file (sim-run writes {DYADS} for a scenario or a pair; "
                         f"is {run_dir} a run directory?)")
    try:
        return read_parquet(path, "run the scenarios again with sim-run into a new directory")
    except DamagedFileError as e:
        raise DyadsError(str(e)) from None


def validate_run(run_dir: str | Path, patterns: str | Path | None = None,
                 out: str | Path | None = None) -> tuple[dict[str, Path], pd.DataFrame]:
    """Score ``run_dir``'s dyads against ``patterns`` and write the tables and the figure into ``out``.

    Returns the paths written (by name) and the scores table (:func:`sim.patterns.score_table`).
    Everything is computed before anything is written, so bad input leaves no output, and the
    files are published together (:func:`sim.store.staged`); raises :class:`PatternError` or
    :class:`DyadsError`, or :class:`sim.store.WriteError` or OSError when ``out`` cannot be written.
    """
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / VALIDATION
    dyads = read_dyads(run_dir)
    path = Path(patterns) if patterns is not None else default_patterns()
    table = load_patterns(path, dyads_codes(dyads), dyads_horizon(dyads))
    cells, scores = score(dyads, table)
    figure = plot_pattern_score(cells)
    with staged(out, replace=True) as stage:  # all three files, or none
        cells.to_csv(stage / CELLS_FILE, index=False)
        scores.to_csv(stage / SCORES_FILE, index=False)
        (png,) = write_figures(stage, {FIGURE: figure})
    return {"cells": out / CELLS_FILE, "scores": out / SCORES_FILE, "figure": out / png.name}, scores


def main(argv: list[str] | None = None) -> None:
    """``sim-validate RUN_DIR [--patterns PATH] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="sim-validate", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a sim-run output directory with dyads.parquet")
    parser.add_argument("--patterns", type=Path, default=None, metavar="PATH",
                        help="a patterns CSV (a,b,start,end,sign,confidence); default: the project's "
                             "data/history/patterns_2018_2024.csv")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help=f"where to write (default: RUN_DIR/{VALIDATION})")
    args = parser.parse_args(argv)
    try:
        paths, scores = validate_run(args.run_dir, args.patterns, args.out)
    except (PatternError, DyadsError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except WriteError as e:
        print(f"error: {e}; choose another directory with --out", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        out = args.out if args.out is not None else args.run_dir / VALIDATION
        print(f"error: {write_failure(e, out)}; nothing was written", file=sys.stderr)
        sys.exit(1)
    print(f"Pattern score of {args.run_dir} (agreeing cells / cells; the model's confidence-weighted "
          f"disagreement, H=3 M=2 L=1):\n")
    print(score_summary(scores).to_markdown(index=False))
    print()
    for name, path in paths.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
