"""Two sweeps of ``reproduce``'s job on one store share its runs: none is trained twice."""

import os
import subprocess
import sys
import textwrap

import pytest

from neurodis.sweeps.runner import ATTEMPTS_LOG

# what ``neurodis reproduce`` runs, less its figures and version report: a tiny preset of
# two ensembles (one per network size) of two runs each. Each process waits for the go
# file, so that both claim runs at the same moment.
REPRODUCE = """
    import sys, time
    from functools import partial
    from pathlib import Path
    from neurodis.sweeps import RunStore, run_sweep
    from neurodis.sweeps.jobs import train_and_generalize
    from neurodis.sweeps.presets import CONFIG_SCHEMA, Preset, ensemble_key
    from neurodis.sweeps.reproduce import summary_table

    preset = Preset(name="shared", description="a tiny sweep of two ensembles",
                    base={"n_batches": 20, "eval_trials": 400}, grid={"n_tasks": [2, 6], "n_units": [8, 16]})
    configs = preset.configs()
    store = RunStore(Path(sys.argv[1]) / "store", schema=CONFIG_SCHEMA)
    print("ready", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.02)
    job = partial(train_and_generalize, eval_repeats=2, accuracy_trials=256)
    run_sweep(configs, job, store, group_by=ensemble_key, scheduler="synchronous", progress=False)
    results = store.collect(configs, dims=preset.dims)
    print(summary_table(results, job="generalization").to_csv(float_format="%.6f"), end="")
"""


@pytest.mark.slow
def test_two_sweeps_on_one_store_train_each_run_once(tmp_path):
    script = tmp_path / "reproduce_shared.py"
    script.write_text(textwrap.dedent(REPRODUCE))
    out = tmp_path / "results"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [subprocess.Popen([sys.executable, str(script), str(out), str(tmp_path / "go")], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    try:
        for process in processes:
            assert process.stdout.readline() == "ready\n", process.stderr.read()
        (tmp_path / "go").touch()
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    # every run was claimed, and so trained, exactly once (by one process or the other)
    runs = sorted((out / "store" / "runs").iterdir())
    assert len(runs) == 4
    claims = [(run / ATTEMPTS_LOG).read_text().splitlines() for run in runs]
    assert [len(c) for c in claims] == [1, 1, 1, 1], claims
    assert all((run / "result.nc").is_file() and not (run / "claim.lock").exists() for run in runs)
    # both ended with the complete table: one row per condition, the same in both
    tables = [stdout for stdout, _ in outputs]
    assert tables[0] == tables[1] and tables[0].startswith("n_tasks,")
    rows = [tuple(line.split(",")[:2]) for line in tables[0].splitlines()[1:]]
    assert len(rows) == 4 and set(rows) == {("2", "8"), ("2", "16"), ("6", "8"), ("6", "16")}
