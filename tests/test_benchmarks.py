"""Every benchmark script imports against the current public API and has a ``--quick`` smoke mode.

Benchmarks are not run here (timings belong to ``benchmarks/``, not to tests); importing
them catches a renamed or removed API before a user runs ``benchmarks/run_all.py``.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parent.parent / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_imports_against_the_current_api(path, monkeypatch):
    monkeypatch.syspath_prepend(str(path.parent))  # for the benchmarks' shared helpers (_table)
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
    assert "--quick" in path.read_text(), f"{path.name} has no --quick smoke mode"


def test_there_are_benchmarks():
    assert len(BENCHMARKS) >= 8
