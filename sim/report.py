"""``sim-report DIR``: a sweep (or a single run) directory as tables, verdicts and figures.

:func:`collect` reads a directory written by ``sim-run`` (one run, an in-process sweep or a
Hydra multirun) and returns a :class:`Report`:

- ``table``: tidy, one row per cell, replication and recorded date, with the cell's value of
  every swept key as a column (``policy.outreach`` ...), the cell hash and every metric;
- ``effects``: one row per point and hypothesis: paired effect (treatment - control at the
  horizon), 95% BCa bootstrap CI, sign-flip p-value and verdict (grid and pair designs), or the
  mean paired effect alone (sensitivity designs, whose statistics are the indices);
- ``sensitivity``: Sobol S1/ST or Morris mu*/sigma of the H1 and H2 effects (SALib).

:func:`write_report` writes them under ``DIR/report/`` with ``verdicts.md`` and the figures
(:func:`report_figures`): a single run's headline figures again; for a sweep, effect against
outreach with its CI band, the phase diagram over the sanctions levers, the sensitivity indices
as bars, the effect against any other swept key, or, for a sweep without pairs, the H1 and H2
metrics at the horizon against each swept key. The report is derived data: writing it again
gives the same files. matplotlib is imported only to draw them.

Reading results needs the store, the analysis and the plots only: this module never imports
the engine (``tests/test_api.py`` checks it), so it reads a sweep without Mesa or a model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.analysis import HYPOTHESES, number, summarise
from sim.design import PRIOR_DESIGN, analyse
from sim.discovery import Discovery
from sim.levers import LEVER_LABELS
from sim.store import (
    DESIGN_FILE,
    POINTS,
    CellStore,
    DamagedFileError,
    WriteError,
    config_at,
    incomplete,
    read_json,
    read_parquet,
    staged,
    write_failure,
    write_figures,
)

REPORT = "report"
DAMAGED_RUN = "run it again with sim-run into a new directory (sim-reproduce DIR does it from DIR's .hydra/)"
DAMAGED_SWEEP = "run the sweep again into a new directory"


@dataclass
class Report:
    design: str
    keys: list[str]
    table: pd.DataFrame
    effects: pd.DataFrame
    sensitivity: pd.DataFrame | None
    pending: int  # points whose cells are not all finished
    discovery: Discovery | None = None  # PRIM's boxes over a prior design (sim.discovery)


def load_points(root: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The design record (``{}`` for a Hydra multirun) and the points, in design order."""
    design = read_json(root / DESIGN_FILE, DAMAGED_SWEEP) if (root / DESIGN_FILE).exists() else {}
    if design:
        return design, list(design["points"])
    points = [read_json(p, DAMAGED_SWEEP) for p in sorted((root / POINTS).glob("*.json"))]
    keys = swept_keys([p["params"] for p in points])
    points.sort(key=lambda p: tuple(_order(p["params"].get(k)) for k in keys))
    for p in points:  # a multirun's jobs may override different keys: fill the gaps from the cells
        p["params"] = {k: p["params"].get(k) for k in keys}
    thresholds = {p.get("settings", {}).get("min_relative_effect") for p in points} - {None}
    if len(thresholds) > 1:
        raise ValueError(f"{root}: the jobs used different min_relative_effect values {sorted(thresholds)}; "
                         "report them from separate sweep directories")
    settings = {"min_relative_effect": thresholds.pop()} if thresholds else {}
    return {"design": "grid", "keys": keys, "settings": settings}, points


def _order(value: Any) -> tuple[int, Any]:
    """Numbers in numeric order (2 before 10), then anything else as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def swept_keys(params: list[dict[str, Any]]) -> list[str]:
    """Keys of a multirun's job overrides that take more than one value (all of them for one job).

    Only single values of the cell config count: not ``experiment.*`` (it does not change cells)
    and not lists or dicts.
    """
    values: dict[str, set[str]] = {}
    for p in params:
        for k, v in p.items():
            if not k.startswith("experiment.") and not isinstance(v, (dict, list)):
                values.setdefault(k, set()).add(json.dumps(v))
    return sorted(k for k, v in values.items() if len(v) > 1 or len(params) == 1)


def collect(root: str | Path, *, progress: bool = False) -> Report:
    """Read a run or sweep directory into a :class:`Report` (see the module docstring)."""
    root = Path(root)
    if not (root / POINTS).is_dir():
        if (root / "results.parquet").exists():
            return _single_run(root)
        if incomplete(root):
            raise FileNotFoundError(f"{root} is an incomplete run: it stopped before its results were written "
                                    f"({incomplete(root)[0].name} holds what it had); run it again")
        raise FileNotFoundError(f"{root}: neither a sweep (points/, cells/) nor a run (results.parquet)")
    design, points = load_points(root)
    kind, keys = str(design.get("design", "grid")), list(design.get("keys", []))
    store = CellStore(root)
    done = store.done()
    finished = [p for p in points if p["control"] in done and (p["treatment"] in done or p["treatment"] is None)]
    cells = list(dict.fromkeys(k for p in finished for k in (p["control"], p["treatment"]) if k is not None))
    tables = {key: store.table(key) for key in cells}  # each read once, for the table and the effects
    table = _tidy(tables, {key: store.config(key) for key in cells}, keys)
    settings = design.get("settings", {})
    effects = _effects(store, finished, keys, kind, settings, progress, tables)
    sensitivity = None
    if kind in ("sobol", "morris") and len(finished) == len(points):
        x = np.asarray(design["sample"])
        parts = []
        for h in HYPOTHESES:
            by_point = effects[effects["hypothesis"] == h].set_index("point")["effect"].to_dict()
            y = np.array([by_point[p["id"]] for p in points])  # a Morris sample repeats points
            s = analyse(design["problem"], kind, x, y, int(settings.get("levels", 4)),
                        seed=int(settings.get("seed", 0)))
            s.insert(0, "hypothesis", h)
            parts.append(s)
        sensitivity = pd.concat(parts, ignore_index=True)
    discovery = None
    if kind == PRIOR_DESIGN and len(finished) == len(points) and not effects.empty:
        discovery = discover_in(design, points, effects)
    return Report(kind, keys, table, effects, sensitivity, len(points) - len(finished), discovery)


def discover_in(design: Mapping[str, Any], points: list[dict[str, Any]], effects: pd.DataFrame) -> Discovery:
    """PRIM's boxes (:func:`sim.discovery.discover`) for the verdicts of the design's hypothesis at
    each point of a ``prior`` design, over the parameters it drew."""
    from sim.discovery import discover

    settings = dict(design.get("settings", {}).get("discovery", {}))
    h = str(settings.pop("hypothesis", "h1"))
    x = pd.DataFrame(np.asarray(design["sample"], dtype=float), columns=list(design["problem"]["names"]))
    verdict = effects[effects["hypothesis"] == h].set_index("point")["verdict"].to_dict()
    found = discover(x, [verdict[p["id"]] for p in points], **settings)
    found.hypothesis = h
    found.priors = {name: (str(shape), float(low), float(high))
                    for name, (shape, low, high) in zip(x.columns, design["problem"]["priors"], strict=True)}
    return found


def swept_value(config: Mapping[str, Any], key: str) -> Any:
    """A cell's value of swept ``key``: for ``compare`` (a grid over treatments) its scenario's name,
    which the cell's config holds instead of ``compare``."""
    return config["scenario"]["name"] if key == "compare" else config_at(config, key)


def _tidy(tables: dict[str, pd.DataFrame], configs: dict[str, dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    """The cells' tables stacked, with ``cell`` and the cell's value of every swept key after ``scenario``
    (columns added once for all cells: inserting them cell by cell cost more than reading the cells)."""
    if not tables:
        return pd.DataFrame()
    cells = list(tables)
    lengths = [len(tables[c]) for c in cells]
    stacked = pd.concat(tables.values(), ignore_index=True)
    added = pd.DataFrame({"cell": np.repeat(cells, lengths),
                          **{k: np.repeat([swept_value(configs[c], k) for c in cells], lengths) for k in keys}})
    return pd.concat([stacked[["scenario"]], added, stacked.drop(columns="scenario")], axis=1)


def _effects(store: CellStore, points: list[dict[str, Any]], keys: list[str], kind: str,
             settings: dict[str, Any], progress: bool, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Paired effects per point, from each cell's table in ``tables`` (by cell hash)."""
    rows = []
    horizons: dict[str, pd.DataFrame] = {}

    def horizon(key: str) -> pd.DataFrame:
        if key not in horizons:
            t = tables[key]
            horizons[key] = t[t["date"] == t["date"].max()]
        return horizons[key]

    unique = list({p["id"]: p for p in points}.values())
    for p in tqdm(unique, desc="effects", unit="point", disable=not progress):
        if p["treatment"] is None:
            continue
        control, treatment = horizon(p["control"]), horizon(p["treatment"])
        base = {"point": p["id"], **{k: p["params"].get(k) for k in keys}}
        if kind in ("sobol", "morris"):  # many points: the indices carry the statistics
            for h, spec in HYPOTHESES.items():
                diff = (treatment.set_index("replication")[spec["metric"]]
                        - control.set_index("replication")[spec["metric"]])
                rows.append({**base, "hypothesis": h, "metric": spec["metric"], "effect": float(diff.mean()),
                             "n": int(diff.size)})
            continue
        c_cfg, t_cfg = store.config(p["control"]), store.config(p["treatment"])
        for k in keys:  # the cell's own values: a treatment-only lever is the treatment's
            base[k] = swept_value(t_cfg, k)
        direction = int(np.sign(t_cfg["policy"]["outreach"] - c_cfg["policy"]["outreach"]))
        pair = pd.concat([control, treatment], ignore_index=True)
        s = summarise(pair, str(control["scenario"].iloc[0]), str(treatment["scenario"].iloc[0]),
                      direction=direction, seed=int(c_cfg["seed"]),
                      min_relative_effect=float(settings.get("min_relative_effect", 0.05)))
        for h in HYPOTHESES:
            e = s[h]
            rows.append({**base, "hypothesis": h, **{k: e[k] for k in (
                "metric", "effect", "relative_effect", "ci_low", "ci_high", "p_value", "p_value_holm", "verdict",
                "n", "control_mean", "treatment_mean", "scale_control_mean", "threshold")}})
    return pd.DataFrame(rows)


def _single_run(root: Path) -> Report:
    table = read_parquet(root / "results.parquet", DAMAGED_RUN)
    rows = []
    if (root / "summary.json").exists():
        s = read_json(root / "summary.json", DAMAGED_RUN)
        for h in HYPOTHESES:
            e = s[h]
            rows.append({"point": "run", "hypothesis": h, **{k: e.get(k) for k in (
                "metric", "effect", "relative_effect", "ci_low", "ci_high", "p_value", "p_value_holm", "verdict",
                "n", "control_mean", "treatment_mean", "scale_control_mean", "threshold")}})
    return Report("pair", [], table, pd.DataFrame(rows), None, 0)


# ------------------------------------------------------------------ writing


def verdict_markdown(report: Report) -> str:
    """The verdict table per condition, in words."""
    e = report.effects
    lines = ["# Verdicts by condition", ""]
    if report.pending:
        lines += [f"{report.pending} point(s) not finished yet: rerun the sweep into the same directory.", ""]
    if e.empty or report.design in ("sobol", "morris"):
        if report.sensitivity is not None:
            lines += ["Sensitivity indices of the mean paired effects (see sensitivity.parquet):", "",
                      report.sensitivity.round(4).to_markdown(index=False), ""]
        return "\n".join(lines)
    if report.discovery is not None:
        return "\n".join(lines + discovery_markdown(report))
    rows = []
    for _, g in e.groupby("point", sort=False):
        first = g.iloc[0]
        row = {LEVER_LABELS.get(k, k): first[k] for k in report.keys}
        for r in g.itertuples(index=False):
            h = r.hypothesis
            ci = "" if r.ci_low is None or pd.isna(r.ci_low) else f" [{number(r.ci_low)}, {number(r.ci_high)}]"
            row[f"{h.upper()} effect (95% CI)"] = f"{number(r.effect)}{ci}"
            row[f"{h.upper()} verdict"] = r.verdict
        rows.append(row)
    counts = e.groupby(["hypothesis", "verdict"]).size().unstack(fill_value=0)
    lines += ["Effects are treatment minus control at the horizon, paired on common random numbers, with 95% BCa "
              "bootstrap intervals; a verdict needs the interval beyond the practical threshold and p < 0.05.", "",
              pd.DataFrame(rows).to_markdown(index=False), "", "Counts:", "", counts.to_markdown(), ""]
    return "\n".join(lines)


def discovery_markdown(report: Report) -> list[str]:
    """The verdict counts of a prior design and PRIM's box for each verdict, in words."""
    assert report.discovery is not None
    d, e = report.discovery, report.effects
    counts = e.groupby(["hypothesis", "verdict"]).size().unstack(fill_value=0)
    lines = [f"{e['point'].nunique()} parameter sets drawn from the priors, each a paired test "
             "(95% BCa interval beyond the practical threshold and p < 0.05 for a verdict).", "",
             "Counts:", "", counts.to_markdown(), "",
             f"Scenario discovery (PRIM, EMA Workbench): for each verdict, the box of its peeling trajectory "
             f"reported is {d.rule} (coverage: cases inside / all cases; density: cases inside / draws inside; "
             "the whole trajectory in discovery_trajectory.csv):", ""]
    for r in d.summary.itertuples(index=False):
        if pd.isna(r.step):
            lines += [f"- **{r.target}**: {r.cases} of {r.points} draws; no box (nothing to separate).", ""]
            continue
        box = d.boxes[(d.boxes["target"] == r.target) & d.boxes["restricted"]]
        limits = "; ".join(f"{b.parameter.removeprefix('model.mechanisms.')} in [{number(b.low)}, {number(b.high)}] "
                           f"(quasi-p {b.qp_value:.2g})" for b in box.itertuples(index=False))
        lines += [f"- **{r.target}**: {r.cases} of {r.points} draws (base density {r.base_density:.2f}); box "
                  f"coverage {r.coverage:.2f}, density {r.density:.2f}, mass {r.mass:.2f}, {int(r.res_dim)} "
                  f"parameter(s) restricted: {limits or 'none'}", ""]
    return lines


def write_report(root: str | Path, out: str | Path | None = None, *, progress: bool = False) -> dict[str, Path]:
    """Collect ``root`` and write the report's tables, verdicts and figures (atomically) to ``out``."""
    root = Path(root)
    out = Path(out) if out is not None else root / REPORT
    report = collect(root, progress=progress)
    tables = {"table": report.table, "effects": report.effects}
    if report.sensitivity is not None:
        tables["sensitivity"] = report.sensitivity
    names = {"table": "results.parquet", "effects": "effects.parquet", "sensitivity": "sensitivity.parquet"}
    found = {}
    if report.discovery is not None:
        found = {f"discovery_{part}": getattr(report.discovery, part) for part in ("summary", "boxes", "trajectory")}
    with staged(out, replace=True) as stage:  # the whole report, or none of it (a report again replaces it)
        for name, table in tables.items():
            table.to_parquet(stage / names[name], index=False)
        for name, table in found.items():
            table.to_csv(stage / f"{name}.csv", index=False)
        (stage / "verdicts.md").write_text(verdict_markdown(report))
        figures = write_figures(stage, report_figures(root, report))
    paths = {"table": out / names["table"], "effects": out / names["effects"], "verdicts": out / "verdicts.md"}
    if "sensitivity" in tables:
        paths["sensitivity"] = out / names["sensitivity"]
    paths |= {name: out / f"{name}.csv" for name in found}
    return paths | {p.stem: out / p.name for p in figures}


def report_figures(root: Path, report: Report) -> dict[str, Any]:
    """The figures of a report, by file stem: for a single run its headline figures (from its
    results, network and summary files), for a sweep :func:`sim.plots.sweep_figures`."""
    from sim.plots import headline_figures, sweep_figures

    if not (root / POINTS).is_dir():  # a single run
        network = read_parquet(root / "network.parquet", DAMAGED_RUN) if (root / "network.parquet").exists() else None
        summary = read_json(root / "summary.json", DAMAGED_RUN) if (root / "summary.json").exists() else None
        return headline_figures(report.table, network, summary)
    figures = sweep_figures(report.effects, report.keys, report.design, report.sensitivity, report.table)
    if report.discovery is not None and not report.discovery.trajectory.empty:
        from sim.plots import plot_discovery

        figures["discovery"] = plot_discovery(report.discovery, report.effects)
    return figures


def main(argv: list[str] | None = None) -> None:
    """``sim-report DIR [--out OUT]``."""
    parser = argparse.ArgumentParser(prog="sim-report", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="a sim-run output directory or a multirun sweep directory")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: DIRECTORY/report)")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else args.directory / REPORT
    try:
        paths = write_report(args.directory, args.out, progress=True)
    except (FileNotFoundError, DamagedFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except WriteError as e:
        print(f"error: {e}; choose another directory with --out", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        print(f"error: {write_failure(e, out)}; no report was written", file=sys.stderr)
        sys.exit(1)
    for name, path in paths.items():
        print(f"{name}: {path}")
