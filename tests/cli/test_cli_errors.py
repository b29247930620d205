"""Every verb fails on a user's error in at most three lines, never a traceback:
``neurodis VERB: error: MESSAGE`` naming the argument or file, and exit status 1.

Placeholders in the invocations: ``{run}`` a tiny trained run, ``{pulses}`` one trained
on the pulses task, ``{ensemble}``, ``{corrupt}`` (model), ``{garbled}`` (config.json),
``{garbled_encoder}``, ``{truncated_history}``, ``{no_history}``, ``{no_model}``: broken
run folders, ``{file}`` an existing plain file, ``{missing}`` a path where nothing is,
``{out}`` a fresh folder of the test (``{tmp}`` is this test's tmp_path itself).
"""

import errno
import os
import shutil
import subprocess
import sys

import pytest

import neurodis.analysis
import neurodis.experiments.comparison
import neurodis.experiments.ood
import neurodis.simulator
import neurodis.sweeps.reproduce
import neurodis.training
import neurodis.trials
from neurodis import cli
from neurodis._cli_errors import HINT, MAX_MESSAGE, check_writable
from neurodis.cli import main
from neurodis.errors import RunFailedError
from neurodis.tasks import make_task


@pytest.fixture(scope="module")
def folders(tiny_run, pulses_run, tmp_path_factory):
    """The placeholders' paths; the broken runs are damaged copies of ``tiny_run``."""
    root = tmp_path_factory.mktemp("broken")
    ensemble = root / "ensemble"
    (ensemble / "member_000").mkdir(parents=True)
    (ensemble / "ensemble.json").write_text("{}")
    broken = {}
    for name in ("corrupt", "garbled", "garbled_encoder", "truncated_history", "no_history", "no_model", "resumable"):
        broken[name] = shutil.copytree(tiny_run, root / name)
    model = broken["corrupt"] / "model" / "model.safetensors"
    model.write_bytes(model.read_bytes()[:100])  # truncated mid-header
    (broken["garbled"] / "config.json").write_text('{"train": {"n_batches": 4,')
    (broken["garbled_encoder"] / "encoder.json").write_text('{"kind": "lin')
    history = broken["truncated_history"] / "history.nc"
    history.write_bytes(history.read_bytes()[:300])
    (broken["no_history"] / "history.nc").unlink()
    shutil.rmtree(broken["no_model"] / "model")
    (root / "a_file").write_text("not a folder")
    return {"run": tiny_run, "pulses": pulses_run, "ensemble": ensemble, "file": root / "a_file",
            "missing": root / "nowhere", **broken}


def _argv(template, folders, tmp_path):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return [item.format(**folders, out=out, tmp=tmp_path) for item in template]


def assert_fails_in_one_line(capsys, status, verb, *names):
    """Status 1; at most 3 lines on stderr, no traceback; the first line is
    ``neurodis VERB: error: ...`` and names each of ``names``; nothing on stdout."""
    captured = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in captured.err and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert 1 <= len(lines) <= 3, captured.err
    assert lines[0].startswith(f"neurodis {verb}: error: "), lines[0]
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def _case(verb, *args, names, id):
    return pytest.param([verb, *args], names, id=id)


SAMPLE = ("sample", "classification")
TRAIN = ("train", "--task", "classification", "--batches", "2", "--units", "4", "--quiet")
RUN_VERBS = ("generalize", "fixed-points", "geometry")

#: (argv, what the first line must contain); each fails before any work is done
MALFORMED = [
    # sample
    _case("sample", "nope", "--out", "{out}/t.nc", names=["TASK", "'nope'"], id="sample-unknown-task"),
    _case(*SAMPLE, "--param", "n_tasks", "--out", "{out}/t.nc", names=["--param", "'n_tasks'"],
          id="sample-param-without-equals"),
    _case(*SAMPLE, "--param", "=3", "--out", "{out}/t.nc", names=["--param", "'=3'"], id="sample-param-empty-key"),
    _case(*SAMPLE, "--param", "n_tasks=abc", "--out", "{out}/t.nc", names=["--param n_tasks", "'abc'"],
          id="sample-param-not-json"),
    _case(*SAMPLE, "--param", "noise_params={{", "--out", "{out}/t.nc", names=["--param noise_params", "'{{'"],
          id="sample-param-unclosed-json"),
    _case(*SAMPLE, "--param", "n_tasks=0", "--out", "{out}/t.nc", names=["n_tasks", "got 0"],
          id="sample-param-zero-tasks"),
    _case(*SAMPLE, "--param", "n_tasks=2.5", "--out", "{out}/t.nc", names=["n_tasks", "2.5"],
          id="sample-param-float-tasks"),
    _case(*SAMPLE, "--param", 'n_tasks="six"', "--out", "{out}/t.nc", names=["n_tasks", "'six'"],
          id="sample-param-string-tasks"),
    _case(*SAMPLE, "--param", "bogus=1", "--out", "{out}/t.nc", names=["'bogus'"], id="sample-param-unknown"),
    _case(*SAMPLE, "--param", "sigma=-1", "--out", "{out}/t.nc", names=["sigma", "-1"],
          id="sample-param-negative-sigma"),
    _case(*SAMPLE, "--n-trials", "0", "--out", "{out}/t.nc", names=["--n-trials", "got 0"], id="sample-zero-trials"),
    _case(*SAMPLE, "--n-trials", "-3", "--out", "{out}/t.nc", names=["--n-trials", "got -3"],
          id="sample-negative-trials"),
    _case(*SAMPLE, "--seed", "-1", "--out", "{out}/t.nc", names=["--seed", "got -1"], id="sample-negative-seed"),
    _case("sample", "accumulation", "--param", "timing=null", "--out", "{out}/t.nc", names=["timing", "None"],
          id="sample-param-null-timing"),
    _case(*SAMPLE, "--out", "{out}", names=["--out", "{out}", "existing folder"], id="sample-out-is-a-folder"),
    _case(*SAMPLE, "--out", "{file}/t.nc", names=["--out", "{file}"], id="sample-out-below-a-file"),
    # train
    _case("train", "--task", "nope", "--out", "{out}", names=["--task", "'nope'"], id="train-unknown-task"),
    _case(*TRAIN, "--n-tasks", "0", "--out", "{out}", names=["--n-tasks", "got 0"], id="train-zero-tasks"),
    _case(*TRAIN, "--batches", "0", "--out", "{out}", names=["--batches", "got 0"], id="train-zero-batches"),
    _case(*TRAIN, "--batches", "-5", "--out", "{out}", names=["--batches", "got -5"], id="train-negative-batches"),
    _case(*TRAIN, "--units", "0", "--out", "{out}", names=["--units", "got 0"], id="train-zero-units"),
    _case(*TRAIN, "--units", "-1", "--out", "{out}", names=["--units", "got -1"], id="train-negative-units"),
    _case(*TRAIN, "--arch", "rnn9", "--out", "{out}", names=["--arch", "'rnn9'"], id="train-unknown-arch"),
    _case(*TRAIN, "--batch-size", "0", "--out", "{out}", names=["--batch-size", "got 0"],
          id="train-zero-batch-size"),
    _case(*TRAIN, "--lr", "-1", "--out", "{out}", names=["--lr", "-1"], id="train-negative-lr"),
    _case(*TRAIN, "--lr", "nan", "--out", "{out}", names=["--lr", "nan"], id="train-nan-lr"),
    _case(*TRAIN, "--lr", "inf", "--out", "{out}", names=["--lr", "inf"], id="train-infinite-lr"),
    _case(*TRAIN, "--ensemble", "0", "--out", "{out}", names=["--ensemble", "got 0"], id="train-empty-ensemble"),
    _case(*TRAIN, "--checkpoint-every", "0", "--out", "{out}", names=["--checkpoint-every", "got 0"],
          id="train-zero-checkpoint-every"),
    _case(*TRAIN, "--log-every", "0", "--out", "{out}", names=["--log-every", "got 0"], id="train-zero-log-every"),
    _case(*TRAIN, "--device", "tpu", "--out", "{out}", names=["--device", "'tpu'"], id="train-unknown-device"),
    _case(*TRAIN, "--threads", "0", "--out", "{out}", names=["--threads", "got 0"], id="train-zero-threads"),
    _case(*TRAIN, "--param", "sigma", "--out", "{out}", names=["--param", "'sigma'"],
          id="train-param-without-equals"),
    _case(*TRAIN, "--param", "sigma=0,3", "--out", "{out}", names=["--param sigma", "'0,3'"],
          id="train-param-not-json"),
    _case(*TRAIN, "--param", "n_dims=0", "--out", "{out}", names=["n_dims", "got 0"], id="train-param-zero-dims"),
    _case(*TRAIN, "--param", "timing=3", "--out", "{out}", names=["timing", "int 3"], id="train-param-timing-a-number"),
    _case(*TRAIN, "--param", 'timing={{"a": 1}}', "--out", "{out}", names=["'a'"],
          id="train-param-timing-unknown-field"),
    _case(*TRAIN, "--param", "boundary=5", "--out", "{out}", names=["boundary", "got 5"],
          id="train-param-unknown-boundary"),
    _case(*TRAIN, "--param", "latent_correlation=2", "--out", "{out}", names=["latent_correlation", "2.0"],
          id="train-param-correlation-out-of-range"),
    _case(*TRAIN, "--param", "sigma=null", "--out", "{out}", names=["sigma", "None"], id="train-param-null-sigma"),
    _case("train", "--task", "pulses", "--n-tasks", "3", "--out", "{out}", names=["'pulses'", "'n_tasks'"],
          id="train-pulses-takes-no-n-tasks"),
    _case(*TRAIN, "--arch", "transformer", "--units", "3", "--out", "{out}", names=["n_heads", "n_units=3"],
          id="train-transformer-heads-do-not-divide-units"),
    _case(*TRAIN, "--out", "{run}", names=["{run}", "already holds a checkpoint"], id="train-out-is-a-finished-run"),
    _case(*TRAIN, "--out", "{resumable}", "--resume", names=["cannot resume", "batch_size"],
          id="train-resume-with-another-config"),
    _case(*TRAIN, "--out", "{file}", names=["--out", "{file}", "existing file"], id="train-out-is-a-file"),
    _case(*TRAIN, "--out", "{file}/run", names=["--out", "{file}"], id="train-out-below-a-file"),
    # generalize
    _case("generalize", "{missing}", names=["{missing}", "config.json"], id="generalize-missing-run"),
    _case("generalize", "{ensemble}", names=["RUN_DIR", "{ensemble}", "member_000"], id="generalize-ensemble"),
    _case("generalize", "{corrupt}", names=["model.safetensors"], id="generalize-corrupt-model"),
    _case("generalize", "{garbled}", names=["config.json"], id="generalize-garbled-config"),
    _case("generalize", "{no_history}", names=["history.nc"], id="generalize-missing-history"),
    _case("generalize", "{file}", names=["{file}"], id="generalize-run-is-a-file"),
    _case("generalize", "{garbled_encoder}", names=["encoder.json"], id="generalize-garbled-encoder"),
    _case("generalize", "{truncated_history}", names=["history.nc"], id="generalize-truncated-history"),
    _case("generalize", "{no_model}", names=["{no_model}/model"], id="generalize-missing-model"),
    _case("generalize", "{pulses}", "--n-trials", "50", "--out", "{out}/g.nc", names=["'pulses'"],
          id="generalize-run-without-latents"),
    _case("generalize", "{run}", "--n-trials", "3", "--out", "{out}/g.nc", names=["3 trials"],
          id="generalize-too-few-trials-per-fold"),
    _case("generalize", "{run}", "--time", "late", names=["--time", "'late'"], id="generalize-time-word"),
    _case("generalize", "{run}", "--time", "999", names=["--time", "999"], id="generalize-time-past-the-end"),
    _case("generalize", "{run}", "--time", "-999", names=["--time", "-999"], id="generalize-time-before-start"),
    _case("generalize", "{run}", "--n-trials", "0", names=["--n-trials", "got 0"], id="generalize-zero-trials"),
    _case("generalize", "{run}", "--n-trials", "-1", names=["--n-trials", "got -1"],
          id="generalize-negative-trials"),
    _case("generalize", "{run}", "--folds", "halfspace", "--authors-default", names=["--authors-default", "halfspace"],
          id="generalize-authors-needs-quadrants"),
    _case("generalize", "{run}", "--out", "{out}", names=["--out", "{out}", "existing folder"],
          id="generalize-out-is-a-folder"),
    _case("generalize", "{run}", "--out", "{file}/g.nc", names=["--out", "{file}"], id="generalize-out-below-a-file"),
    # fixed-points
    _case("fixed-points", "{run}", "--n-trials", "4", "--n-inits", "0", "--out", "{out}", names=["--n-inits", "got 0"],
          id="fixed-points-zero-inits"),
    _case("fixed-points", "{run}", "--n-trials", "4", "--n-inits", "-2", "--out", "{out}",
          names=["--n-inits", "got -2"], id="fixed-points-negative-inits"),
    _case("fixed-points", "{run}", "--n-trials", "0", "--out", "{out}", names=["--n-trials", "got 0"],
          id="fixed-points-zero-trials"),
    _case("fixed-points", "{missing}", names=["{missing}"], id="fixed-points-missing-run"),
    _case("fixed-points", "{corrupt}", names=["model.safetensors"], id="fixed-points-corrupt-model"),
    _case("fixed-points", "{ensemble}", names=["RUN_DIR", "{ensemble}"], id="fixed-points-ensemble"),
    _case("fixed-points", "{garbled}", names=["config.json"], id="fixed-points-garbled-config"),
    _case("fixed-points", "{run}", "--out", "{file}", names=["--out", "{file}", "existing file"],
          id="fixed-points-out-is-a-file"),
    # geometry
    _case("geometry", "{run}", "--n-trials", "0", "--out", "{out}", names=["--n-trials", "got 0"],
          id="geometry-zero-trials"),
    _case("geometry", "{run}", "--n-trials", "-4", "--out", "{out}", names=["--n-trials", "got -4"],
          id="geometry-negative-trials"),
    _case("geometry", "{run}", "--seed", "-1", "--out", "{out}", names=["--seed", "got -1"],
          id="geometry-negative-seed"),
    _case("geometry", "{ensemble}", names=["RUN_DIR", "{ensemble}"], id="geometry-ensemble"),
    _case("geometry", "{garbled}", names=["config.json"], id="geometry-garbled-config"),
    _case("geometry", "{no_history}", names=["history.nc"], id="geometry-missing-history"),
    _case("geometry", "{run}", "--out", "{file}/geo", names=["--out", "{file}"], id="geometry-out-below-a-file"),
    # compare
    _case("compare", "{pulses}", "--recording", "{missing}", "--untrained", "0", names=["{missing}"],
          id="compare-missing-recording"),
    _case("compare", "{missing}", "--recording", "{missing}", names=["{missing}", "config.json"],
          id="compare-missing-run"),
    _case("compare", "{run}", "--recording", "{missing}", names=["PulsesTask"], id="compare-run-not-on-pulses"),
    _case("compare", "{pulses}", "--recording", "{missing}", "--untrained", "-1", names=["--untrained", "got -1"],
          id="compare-negative-untrained"),
    _case("compare", "{pulses}", "--recording", "{missing}", "--untrained", "0", "--seed", "-1",
          names=["--seed", "got -1"], id="compare-negative-seed"),
    _case("compare", "{pulses}", "--recording", "{missing}", "--out", "{file}", names=["--out", "{file}"],
          id="compare-out-is-a-file"),
    _case("compare", "{ensemble}", "--recording", "{missing}", names=["{ensemble}"], id="compare-ensemble"),
    _case("compare", "{pulses}", "--recording", "{tmp}", "--untrained", "0", names=["LIP.csv", "{tmp}"],
          id="compare-recording-without-lip"),
    # reproduce
    _case("reproduce", "--select", "n_tasks", "--out", "{out}", names=["--select", "'n_tasks'"],
          id="reproduce-select-without-values"),
    _case("reproduce", "--select", "nokey=1", "--out", "{out}", names=["select key", "'nokey'"],
          id="reproduce-select-unknown-key"),
    _case("reproduce", "--select", "n_tasks=999", "--out", "{out}", names=["select['n_tasks']", "'999'"],
          id="reproduce-select-unknown-value"),
    _case("reproduce", "--batches", "0", "--out", "{out}", names=["--batches", "got 0"],
          id="reproduce-zero-batches"),
    _case("reproduce", "--workers", "0", "--out", "{out}", names=["--workers", "got 0"],
          id="reproduce-zero-workers"),
    _case("reproduce", "--out", "{file}", names=["--out", "{file}"], id="reproduce-out-is-a-file"),
    _case("reproduce", "--out", "{file}/results", names=["--out", "{file}"], id="reproduce-out-below-a-file"),
    _case("reproduce", "--scheduler", "nonsense", "--select", "n_tasks=2", "--no-progress", "--out", "{out}",
          names=["'nonsense'"], id="reproduce-scheduler-not-an-address"),
]


@pytest.mark.parametrize(("argv", "names"), MALFORMED)
def test_malformed_invocation_fails_in_one_line(argv, names, folders, tmp_path, capsys):
    args = _argv(argv, folders, tmp_path)
    line = assert_fails_in_one_line(capsys, main(args), argv[0], *_argv(names, folders, tmp_path))
    assert len(line) <= len(f"neurodis {argv[0]}: error: ") + MAX_MESSAGE


@pytest.mark.parametrize(("given", "first_line"), [
    (["--param", "n_tasks=0"], "n_tasks must be an integer >= 1; got 0"),
    (["--n-tasks", "0"], "--n-tasks: n_tasks must be an integer >= 1; got 0"),
    (["--param", "n_tasks=3", "--units", "0"], "--units: n_units must be an integer >= 1; got 0"),
], ids=["via-param", "via-option", "library-name"])
def test_messages_spell_an_argument_as_the_user_gave_it(given, first_line, tmp_path, capsys):
    assert main([*TRAIN, *given, "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"neurodis train: error: {first_line}"


def test_the_broken_runs_and_the_shared_run_are_left_as_they_were(folders):
    # the failing invocations above must not have written into the runs they read
    assert not (folders["run"] / "generalization.nc").exists()
    assert sorted(p.name for p in folders["ensemble"].iterdir()) == ["ensemble.json", "member_000"]


def _forbid(monkeypatch, owner, name):
    def forbidden(*args, **kwargs):
        pytest.fail(f"{name} ran although --out is not writable")

    monkeypatch.setattr(owner, name, forbidden)


#: verb -> (argv, (module, attribute) of the work it must not start)
COMPUTE = {
    "sample": ([*SAMPLE, "--out", "{out}/t.nc"], (type(make_task("classification")), "sample")),
    "train": ([*TRAIN, "--out", "{out}/run"], (neurodis.training, "train_networks")),
    "reproduce": (["reproduce", "--out", "{out}/results"], (neurodis.sweeps.reproduce, "reproduce")),
    "compare": (["compare", "{pulses}", "--recording", "{missing}", "--out", "{out}/cmp"],
                (neurodis.experiments.comparison, "compare_with_recording")),
    "generalize": (["generalize", "{run}", "--out", "{out}/g.nc"], (neurodis.experiments.ood, "regression_rates")),
    "fixed-points": (["fixed-points", "{run}", "--out", "{out}/fp"], (neurodis.simulator, "simulate")),
    "geometry": (["geometry", "{run}", "--out", "{out}/geo"], (neurodis.simulator, "simulate")),
}


@pytest.mark.parametrize("verb", list(COMPUTE))
@pytest.mark.parametrize(("error", "reason"), [(errno.EACCES, "Permission denied"),
                                               (errno.EROFS, "Read-only file system")],
                         ids=["permission-denied", "read-only-file-system"])
def test_verbs_fail_on_an_unwritable_out_before_computing(verb, error, reason, folders, tmp_path, capsys,
                                                          monkeypatch):
    """Tests run as root, whom chmod does not stop, so the probe write is made to fail."""
    argv, (owner, name) = COMPUTE[verb]
    args = _argv(argv, folders, tmp_path)
    _forbid(monkeypatch, owner, name)

    def refused(*args, dir=None, **kwargs):
        raise OSError(error, reason, str(dir))

    monkeypatch.setattr("tempfile.mkstemp", refused)
    out = args[args.index("--out") + 1]
    assert_fails_in_one_line(capsys, main(args), verb, f"--out {out!r} is not writable: {reason}")


def test_check_writable_creates_the_folder_and_leaves_nothing_behind(tmp_path):
    assert check_writable("--out", tmp_path / "a" / "b", kind="folder") == tmp_path / "a" / "b"
    assert check_writable("--out", tmp_path / "c" / "t.nc", kind="file") == tmp_path / "c" / "t.nc"
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == [] and not (tmp_path / "c" / "t.nc").exists()


def test_check_writable_refuses_collisions_and_unwritable_folders(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"--out must be a folder; got '.*/f', which is an existing file"):
        check_writable("--out", tmp_path / "f", kind="folder")
    with pytest.raises(ValueError, match=r"--out must be a file path; got '.*', which is an existing folder"):
        check_writable("--out", tmp_path, kind="file")
    with pytest.raises(ValueError, match=r"--out '.*/f/g' cannot be created: '.*/f' is a file"):
        check_writable("--out", tmp_path / "f" / "g", kind="folder")

    def refused(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))

    monkeypatch.setattr("tempfile.mkstemp", refused)
    with pytest.raises(PermissionError, match=r"--out '.*/new' is not writable: Permission denied"):
        check_writable("--out", tmp_path / "new", kind="folder")


def _torch_zip_error():
    """What torch.save raises when the disk fills under it: its own RuntimeError, with the
    OSError only as the context."""
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError:
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")  # noqa: B904


def _raiser(error):
    def raising(*args, **kwargs):
        if error == "torch":
            _torch_zip_error()
        raise error

    return raising


H5PY_FULL = OSError("[Errno 28] Unable to synchronously write data (file write failed: time = Thu Dec 3, "
                    "filename = 'x.nc', file descriptor = 7, errno = 28, error message = 'No space left on device')")
#: (argv, (module, writer), error raised by the writer)
FULL_DISK = {
    "sample": ([*SAMPLE, "--n-trials", "2", "--out", "{out}/t.nc"], (neurodis.trials, "save_trials"),
               OSError(errno.ENOSPC, "No space left on device")),
    "train": ([*TRAIN, "--out", "{out}/run"], (neurodis.training, "train_networks"), "torch"),
    "reproduce": (["reproduce", "--out", "{out}/results"], (neurodis.sweeps.reproduce, "reproduce"),
                  OSError(errno.ENOSPC, "No space left on device", "{out}/results/store/a/result.nc")),
    "geometry": (["geometry", "{run}", "--n-trials", "4", "--out", "{out}/geo"], (neurodis.trials, "save_dataset"),
                 H5PY_FULL),
}


@pytest.mark.parametrize("verb", list(FULL_DISK))
def test_a_full_disk_is_named_as_such(verb, folders, tmp_path, capsys, monkeypatch):
    argv, (owner, name), error = FULL_DISK[verb]
    args = _argv(argv, folders, tmp_path)
    monkeypatch.setattr(owner, name, _raiser(error))
    line = assert_fails_in_one_line(capsys, main(args), verb)
    assert line == f"neurodis {verb}: error: no space left on device while writing {args[args.index('--out') + 1]}"


def test_a_full_disk_met_by_the_write_probe_is_named_as_such(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("tempfile.mkstemp", _raiser(OSError(errno.ENOSPC, "No space left on device")))
    out = tmp_path / "trials.nc"
    assert_fails_in_one_line(capsys, main([*SAMPLE, "--out", str(out)]), "sample",
                             f"no space left on device while writing {out}")


#: (verb, argv, (module, function), error it raises, what the line must contain)
LIBRARY_FAILURES = [
    pytest.param("reproduce", ["--out", "{out}"], (neurodis.sweeps.reproduce, "reproduce"),
                 RunFailedError("run 3f2a9c failed: ValueError: n_units must be an integer >= 1; got 0 "
                                "(traceback in {out}/store/3f2a9c/error.log)"),
                 ["run 3f2a9c failed", "error.log"], id="reproduce-run-failed"),
    pytest.param("reproduce", ["--scheduler", "tcp://10.0.0.9:8786", "--out", "{out}"],
                 (neurodis.sweeps.reproduce, "reproduce"),
                 ConnectionError("scheduler must be the address of a running Dask scheduler (e.g. tcp://host:8786); "
                                 "could not connect to 'tcp://10.0.0.9:8786': Timed out after 10 s"),
                 ["scheduler", "'tcp://10.0.0.9:8786'"], id="reproduce-scheduler-unreachable"),
    pytest.param("compare", ["{pulses}", "--recording", "{tmp}/session.nwb"],
                 (neurodis.experiments.comparison, "compare_with_recording"),
                 ModuleNotFoundError("No module named 'pynwb'", name="pynwb"),
                 ["'pynwb'", "pip install neurodis[nwb]"], id="compare-without-pynwb"),
    pytest.param("compare", ["{pulses}", "--recording", "{tmp}/session.nwb"],
                 (neurodis.experiments.comparison, "compare_with_recording"),
                 ImportError("load_nwb needs pynwb; install it with `pip install neurodis[nwb]`", name="pynwb"),
                 ["load_nwb needs pynwb; install it with `pip install neurodis[nwb]`"], id="compare-nwb-hint-kept"),
    pytest.param("train", [*TRAIN[1:], "--lr", "1e30", "--out", "{out}"], (neurodis.training, "train_networks"),
                 FloatingPointError("training loss became nan at batch 2 (member 0); training stopped before the "
                                    "update, and the last checkpoint written (if any) is kept. Lower lr or set "
                                    "grad_clip."),
                 ["loss became nan", "Lower lr"], id="train-diverged"),
]


@pytest.mark.parametrize(("verb", "argv", "target", "error", "names"), LIBRARY_FAILURES)
def test_library_failures_are_one_line(verb, argv, target, error, names, folders, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(*target, _raiser(error))
    status = main(_argv([verb, *argv], folders, tmp_path))
    assert_fails_in_one_line(capsys, status, verb, *names)


def test_reproduce_without_distributed_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ModuleNotFoundError
    status = main(["reproduce", "--select", "n_tasks=2", "--select", "seed=0", "--no-progress",
                   "--out", str(tmp_path)])
    assert_fails_in_one_line(capsys, status, "reproduce", "'distributed'", "pip install dask[distributed]")


def _replace_handler(monkeypatch, verb, error):
    help_text, arguments, _ = cli.COMMANDS[verb]
    monkeypatch.setitem(cli.COMMANDS, verb, (help_text, arguments, _raiser(error)))


def test_long_and_multi_line_messages_are_collapsed_and_cut(capsys, monkeypatch):
    _replace_handler(monkeypatch, "tasks", ValueError("first line\n  second line " + "x" * 2000))
    line = assert_fails_in_one_line(capsys, main(["tasks"]), "tasks", "first line second line xxx")
    assert line.endswith("...") and len(line) == len("neurodis tasks: error: ") + MAX_MESSAGE


def test_the_hint_line_says_how_to_see_the_traceback(capsys, monkeypatch):
    _replace_handler(monkeypatch, "tasks", ValueError("bad"))
    assert main(["tasks"]) == 1
    assert capsys.readouterr().err.splitlines() == ["neurodis tasks: error: bad", HINT]


@pytest.mark.parametrize("error", [KeyError("n_tasks"), AttributeError("'NoneType' object has no attribute 'x'"),
                                   RuntimeError("file write failed")], ids=["KeyError", "AttributeError",
                                                                             "RuntimeError"])
def test_bugs_keep_their_traceback(error, monkeypatch, capsys):
    _replace_handler(monkeypatch, "tasks", error)
    with pytest.raises(type(error)):
        main(["tasks"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("argv", "environ"), [(["--debug", "tasks"], None), (["tasks", "--debug"], None),
                                               (["tasks"], "1"), (["tasks"], "yes")],
                         ids=["flag-before-verb", "flag-after-verb", "environ-1", "environ-yes"])
def test_debug_lets_the_traceback_through(argv, environ, monkeypatch):
    _replace_handler(monkeypatch, "tasks", ValueError("n_tasks must be an integer >= 1; got 0"))
    if environ is None:
        monkeypatch.delenv("NEURODIS_DEBUG", raising=False)
    else:
        monkeypatch.setenv("NEURODIS_DEBUG", environ)
    with pytest.raises(ValueError, match=r"n_tasks must be an integer >= 1; got 0"):
        main(argv)


def test_neurodis_debug_0_keeps_the_one_line(monkeypatch, capsys):
    _replace_handler(monkeypatch, "tasks", ValueError("bad"))
    monkeypatch.setenv("NEURODIS_DEBUG", "0")
    assert_fails_in_one_line(capsys, main(["tasks"]), "tasks", "bad")


def test_usage_errors_keep_argparse_status_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--task", "classification"])
    assert exit_.value.code == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err


def _console(*argv, **environ):
    return subprocess.run([sys.executable, "-m", "neurodis", *argv], capture_output=True, text=True,
                          env={**os.environ, **environ}, timeout=120)


def test_console_shows_two_lines_and_status_1(tmp_path):
    done = _console("sample", "nope", "--out", str(tmp_path / "t.nc"), NEURODIS_DEBUG="")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "neurodis sample: error: TASK: name must be one of ['accumulation', 'classification', 'flipflop', "
        "'neurogym', 'pulses', 'regression']; got 'nope'", HINT]


def test_console_shows_the_traceback_with_neurodis_debug(tmp_path):
    done = _console("sample", "nope", "--out", str(tmp_path / "t.nc"), NEURODIS_DEBUG="1")
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert done.stderr.rstrip().endswith("got 'nope'")
