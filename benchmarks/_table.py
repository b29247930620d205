"""The per-benchmark table of ratios that ``bench_ensembles``, ``bench_sweep_workers`` and ``bench_train`` print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def print_ratios(rows: Sequence[dict[str, Any]], baseline: str = "baseline ms", neurodis: str = "neurodis ms") -> None:
    """Print one line per row: case, both times, their ratio, the goal and whether it is met, the check."""
    width = max(len("case"), *(len(row["case"]) for row in rows))
    print(f"{'case':<{width}} {baseline:>11} {neurodis:>11} {'ratio':>7} {'goal':>5}  check")
    for row in rows:
        if row["goal"] is None:  # a row that attributes a gain, without a goal of its own
            goal, verdict = f"{'-':>5}", ""
        else:
            goal, verdict = f"{row['goal']:>4.1f}x", ("ok; " if row["ratio"] >= row["goal"] else "MISS; ")
        print(f"{row['case']:<{width}} {row['baseline_ms']:>11.3f} {row['neurodis_ms']:>11.3f} {row['ratio']:>6.2f}x "
              f"{goal}  {verdict}{row['check']}")
