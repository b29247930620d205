"""Every script in examples/ runs to completion in its fast mode (NEURODIS_EXAMPLE_FAST=1).

New examples are picked up automatically; each must honour the environment variable
``NEURODIS_EXAMPLE_FAST=1`` (a small, quick version of itself) and exit with status 0.
An example that cannot run here (e.g. its data are absent) prints a line starting with
``skipped:`` and exits 0; the test is then reported as skipped with that reason.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_in_fast_mode(script, tmp_path):
    env = {**os.environ, "NEURODIS_EXAMPLE_FAST": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    skipped = [line for line in done.stdout.splitlines() if line.startswith("skipped:")]
    if skipped:
        pytest.skip(f"{script.name}: {skipped[0]}")
