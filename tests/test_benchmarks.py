"""Every benchmark script imports against the current public API and has a ``--quick`` smoke mode.

Benchmarks are not run here (timings belong to ``benchmarks/``, not to tests); importing
them catches a renamed or removed API before a user runs ``benchmarks/run_all.py``.
"""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

BENCHMARK_DIR = Path(__file__).parent.parent / "benchmarks"
BENCHMARKS = sorted(BENCHMARK_DIR.glob("bench_*.py"))


def _load(path, monkeypatch):
    """Import a benchmark script as a module."""
    monkeypatch.syspath_prepend(str(path.parent))  # for the benchmarks' shared helpers (_table)
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_imports_against_the_current_api(path, monkeypatch):
    module = _load(path, monkeypatch)
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
    assert "--quick" in path.read_text(), f"{path.name} has no --quick smoke mode"


def test_there_are_benchmarks():
    assert len(BENCHMARKS) >= 8


@pytest.mark.parametrize("arch", ["ctrnn", "gru", "transformer"])
def test_flop_count_from_shapes_matches_torchs_counter(arch, monkeypatch):
    # FlopCounterMode counts the matmuls autograd really runs (forward and backward);
    # the LSTM is left out because torch runs it as one fused kernel that the counter does not see
    from torch.utils.flop_counter import FlopCounterMode

    import neurodis
    from neurodis.training import make_network

    bench = _load(BENCHMARK_DIR / "bench_ensembles.py", monkeypatch)
    task = neurodis.make_task("classification", n_tasks=5)
    model = make_network(task, arch, n_units=16, seed=0, **({"n_heads": 4} if arch == "transformer" else {}))
    inputs = torch.zeros(3, 7, model.n_inputs)
    with FlopCounterMode(display=False) as counter:
        _, logits = model.train()(inputs)
        logits.sum().backward()
    assert bench.flops_per_batch(model, None, batch_size=3, n_steps=7) == counter.get_total_flops()
