"""Trial timing and the task registry (neurodis.tasks.base)."""

from dataclasses import dataclass
from typing import ClassVar

import pytest

from neurodis.tasks import Task, Timing, list_tasks, make_task, register_task
from neurodis.tasks.classification import ClassificationTask


def test_paper_timing_has_22_steps():
    timing = Timing()
    assert timing.n_steps == 22 and timing.decision_index == 21
    assert timing.period_slice("fixation") == slice(0, 1)
    assert timing.period_slice("stimulus") == slice(1, 21)
    assert timing.period_slice("delay") == slice(21, 21)
    assert timing.period_slice("decision") == slice(21, 22)


def test_periods_tile_the_trial_for_any_dt():
    timing = Timing(fixation=50, stimulus=300, delay=100, decision=50, dt=25)
    assert [timing.steps(p) for p in Timing.PERIODS] == [2, 12, 4, 2]
    stops = [timing.period_slice(p).stop for p in Timing.PERIODS]
    assert stops == [2, 14, 18, 20] and timing.n_steps == 20
    assert Timing(fixation=0, stimulus=300, decision=0).decision_index == 2  # last step


def test_float_durations_within_rounding_are_multiples():
    assert Timing(stimulus=0.3, fixation=0.1, decision=0.1, dt=0.1).steps("stimulus") == 3


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"stimulus": 250}, ValueError, "stimulus must be a non-negative multiple of dt=100.0 ms; got 250.0"),
        ({"fixation": -100}, ValueError, "fixation must be a non-negative multiple of dt=100.0 ms; got -100.0"),
        ({"delay": float("nan")}, ValueError, "delay must be a finite real number; got nan"),
        ({"decision": "100"}, TypeError, "decision must be a real number; got str"),
        ({"dt": 0}, ValueError, r"dt must be > 0.0; got 0.0"),
        ({"dt": -10}, ValueError, r"dt must be > 0.0; got -10.0"),
        ({"dt": float("inf")}, ValueError, "dt must be a finite real number; got inf"),
        ({"fixation": 0, "stimulus": 0, "delay": 0, "decision": 0}, ValueError,
         "timing must have at least one step; got all periods of 0 ms"),
    ],
)
def test_bad_timing_raises(params, error, match):
    with pytest.raises(error, match=match):
        Timing(**params)


def test_unknown_period_raises():
    with pytest.raises(ValueError, match=r"period must be one of \['fixation', 'stimulus', 'delay', 'decision'\]; got 'go'"):
        Timing().steps("go")


def test_make_task_builds_timing_from_a_mapping():
    task = make_task("classification", n_tasks=2, timing={"stimulus": 500})
    assert task.timing == Timing(stimulus=500) and task.timing.n_steps == 7
    assert task == ClassificationTask(n_tasks=2, timing=Timing(stimulus=500))


def test_register_task_rejects_nameless_and_duplicate_classes():
    @dataclass(frozen=True, kw_only=True)
    class Nameless(Task):
        pass

    with pytest.raises(ValueError, match="task class Nameless must set a non-empty class attribute 'name'"):
        register_task(Nameless)

    @dataclass(frozen=True, kw_only=True)
    class Impostor(Task):
        name: ClassVar[str] = "classification"

    with pytest.raises(ValueError, match="task name 'classification' is already registered by ClassificationTask"):
        register_task(Impostor)
    assert register_task(ClassificationTask) is ClassificationTask  # re-registering is harmless
    assert "classification" in list_tasks()


def test_make_task_rejects_unknown_names_and_parameters():
    with pytest.raises(ValueError, match=r"name must be one of \[.*\]; got 'nope'"):
        make_task("nope")
    with pytest.raises(TypeError, match=r"task 'regression' accepts parameters \[.*\]; got unknown \['n_tasks'\]"):
        make_task("regression", n_tasks=3)


def test_base_task_methods_are_abstract():
    task = Task()
    for attribute in ("input_names", "output_names", "latent_names"):
        with pytest.raises(NotImplementedError):
            getattr(task, attribute)
    with pytest.raises(NotImplementedError):
        task.sample_arrays(1, None)
