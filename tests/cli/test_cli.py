"""The command line: each verb runs its library call and reports bad arguments clearly."""

import subprocess
import sys

import pytest
import xarray as xr

from neurodis import cli, list_tasks, load_trials, make_task
from neurodis.cli import build_parser, main


def test_tasks_verb_lists_every_registered_task(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in list_tasks():
        assert name in out


def test_sample_verb_writes_the_same_trials_as_the_library(tmp_path, capsys):
    path = tmp_path / "trials.nc"
    assert main(["sample", "classification", "--n-trials", "4", "--seed", "3",
                 "--param", "n_tasks=6", "--out", str(path)]) == 0
    expected = make_task("classification", n_tasks=6).sample(4, rng=3)
    xr.testing.assert_identical(load_trials(path), expected)
    assert "wrote" in capsys.readouterr().out


def test_sample_verb_rejects_malformed_parameters(tmp_path, capsys):
    assert main(["sample", "classification", "--param", "n_tasks", "--out", str(tmp_path / "x.nc")]) == 1
    assert "--param must look like KEY=JSON; got 'n_tasks'" in capsys.readouterr().err


def test_unknown_verb_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as err:
        main(["frobnicate"])
    assert err.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_verb_has_help():
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, child in verbs.items():
        assert child.description, name


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "neurodis", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("neurodis ")


@pytest.mark.parametrize(("verb", "hint"), [("tasks", None), ("reproduce", "run the same command again to resume")])
def test_ctrl_c_ends_a_verb_with_status_130_and_one_line(monkeypatch, capsys, verb, hint):
    def interrupted(args):
        raise KeyboardInterrupt

    help_text, arguments, _ = cli.COMMANDS[verb]
    monkeypatch.setitem(cli.COMMANDS, verb, (help_text, arguments, interrupted))
    assert main([verb]) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"neurodis {verb}: interrupted") and "\n" not in err
    assert (hint in err) if hint else ("resume" not in err)
