"""Tests of the pulse-evidence decision task: replay exactness, label rule, errors."""

from pathlib import Path

import numpy as np
import pytest

import neurodis
from neurodis.tasks.encoders import Encoder
from neurodis.tasks.pulses import PulsesTask

LIP_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "yates_lip_pulses"


def slow_stimulus(task: PulsesTask, pulses: np.ndarray) -> np.ndarray:
    """Reference stimulus channel: walk the periods step by step."""
    steps = {p: round(getattr(task, p) / task.dt) for p in
             ("fixation", "pulse_duration", "pulse_interval", "delay", "decision")}
    out = np.zeros((len(pulses), task.n_steps))
    for trial, sequence in enumerate(pulses):
        t = steps["fixation"]
        for k, strength in enumerate(sequence):
            for _ in range(steps["pulse_duration"]):
                out[trial, t] = task.gain * strength
                t += 1
            if k < len(sequence) - 1:
                t += steps["pulse_interval"]
        assert t + steps["delay"] + steps["decision"] == task.n_steps
    return out


def test_registered_with_paper_like_timing():
    task = neurodis.make_task("pulses")
    assert isinstance(task, PulsesTask)
    # 100 ms fixation, 7 x 150 ms pulses, 100 ms decision on a 50 ms grid
    assert (task.n_steps, task.decision_index) == (2 + 21 + 2, 23)
    np.testing.assert_array_equal(task.pulse_onsets, 2 + 3 * np.arange(7))


@pytest.mark.parametrize("interval", [0.0, 100.0])
def test_replay_is_exact(interval, rng):
    task = PulsesTask(pulse_interval=interval, delay=50.0, gain=0.1)
    pulses = rng.integers(-19, 20, size=(40, 7))
    trials = task.trials_from_pulses(pulses, rng=1)
    stimulus = trials["inputs"].sel(input="stimulus_0").values
    np.testing.assert_array_equal(stimulus, slow_stimulus(task, pulses))
    fixation = trials["inputs"].sel(input="fixation").values
    np.testing.assert_array_equal(fixation[:, : task.decision_index], 1.0)
    np.testing.assert_array_equal(fixation[:, task.decision_index :], 0.0)
    for k in range(7):
        np.testing.assert_array_equal(trials[f"pulse_{k}"].values, pulses[:, k])
    np.testing.assert_array_equal(trials["evidence"].values, pulses.sum(axis=1))
    np.testing.assert_array_equal(trials["latents"].values[:, 0], pulses.sum(axis=1))
    assert trials.attrs["replayed_pulses"] == 1


def test_label_rule_targets_and_masks(rng):
    pulses = rng.integers(-3, 4, size=(300, 7))
    for mask in ("decision", "paper"):
        task = PulsesTask(loss_mask=mask)
        trials = task.trials_from_pulses(pulses, rng=2)
        label = trials["label"].values
        total = pulses.sum(axis=1)
        np.testing.assert_array_equal(label[total > 0], 1)
        np.testing.assert_array_equal(label[total < 0], 0)
        targets = trials["targets"].sel(output="choice").values
        d = task.decision_index
        np.testing.assert_array_equal(targets[:, :d], 0.5)
        np.testing.assert_array_equal(targets[:, d:], np.repeat(label[:, None], task.n_steps - d, axis=1))
        weights = trials["loss_mask"].sel(output="choice").values
        np.testing.assert_array_equal(weights[:, :d], 0.0 if mask == "decision" else 1.0)
        np.testing.assert_array_equal(weights[:, d:], 1.0)


def test_ties_get_a_fair_seeded_coin():
    task = PulsesTask()
    ties = np.tile([1.5, -1.5, 0.1, -0.1, 0.0, 2.0, -2.0], (4000, 1))  # sums to 0 up to round-off
    label = task.trials_from_pulses(ties, rng=3)["label"].values
    assert abs(label.mean() - 0.5) < 5 * np.sqrt(0.25 / label.size)
    np.testing.assert_array_equal(label, task.trials_from_pulses(ties, rng=3)["label"].values)


def test_sampled_strengths_are_uniform_over_the_set(rng):
    task = PulsesTask(strengths=(-2, -1, 1, 2))
    batch = task.sample_arrays(2000, rng)
    pulses = np.stack([batch.trial_coords[f"pulse_{k}"] for k in range(7)], axis=1)
    values, counts = np.unique(pulses, return_counts=True)
    np.testing.assert_array_equal(values, [-2, -1, 1, 2])
    expected = pulses.size / 4
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected * 0.75))
    np.testing.assert_array_equal(batch.inputs[:, :, 1], slow_stimulus(task, pulses))


def test_pulse_sequence_bank_draws_whole_rows(rng):
    bank = rng.integers(-5, 6, size=(6, 7)).astype(float)
    task = PulsesTask(pulse_sequences=bank)
    assert task.pulse_sequences == tuple(map(tuple, bank.tolist()))
    batch = task.sample_arrays(200, rng)
    drawn = np.stack([batch.trial_coords[f"pulse_{k}"] for k in range(7)], axis=1)
    row_of = [np.flatnonzero((bank == row).all(axis=1)) for row in drawn]
    assert all(len(r) >= 1 for r in row_of)
    assert len({int(r[0]) for r in row_of}) == len({tuple(r) for r in bank.tolist()})


def test_stimulus_noise_only_inside_the_stimulus_period(rng):
    task = PulsesTask(sigma=0.3, pulse_interval=50.0)
    pulses = np.zeros((500, 7))
    stim = task.trials_from_pulses(pulses, rng=4)["inputs"].sel(input="stimulus_0").values
    first, last = task.pulse_onsets[0], task.pulse_onsets[-1] + 3
    np.testing.assert_array_equal(stim[:, :first], 0.0)
    np.testing.assert_array_equal(stim[:, last:], 0.0)
    inside = stim[:, first:last]
    # the sample sd of n normals has standard error sigma / sqrt(2 n)
    assert abs(inside.std() - 0.3) < 5 * 0.3 / np.sqrt(2 * inside.size)


def test_replay_with_encoder_and_same_rng_reproduces(rng):
    task = PulsesTask()
    pulses = rng.integers(-4, 5, size=(5, 7))
    enc = Encoder(n_dims=1, hidden=(6,), n_out=4)
    trials = task.trials_from_pulses(pulses, rng=0, encoder=enc)
    assert list(trials["input"].values) == ["fixation", *enc.encoded_names()]
    raw = task.trials_from_pulses(pulses, rng=0)
    np.testing.assert_array_equal(
        trials["inputs"].values[..., 1:], enc.encode(raw["inputs"].values[..., 1:])
    )


def test_replays_recorded_lip_sequences():
    path = LIP_DIR / "LIP.csv"
    if not path.is_file():
        pytest.skip(f"LIP recordings not found at {path}")
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, 10))
    session = table[table[:, 0] == 81, 1:8]  # one recorded unit's trials
    task = PulsesTask(gain=1 / 19)
    trials = task.trials_from_pulses(session, rng=0)
    assert trials.sizes["trial"] == len(session) > 100
    np.testing.assert_allclose(trials["inputs"].sel(input="stimulus_0").values, slow_stimulus(task, session))
    for k in range(7):
        np.testing.assert_array_equal(trials[f"pulse_{k}"].values, session[:, k])
    total = session.sum(axis=1)
    np.testing.assert_array_equal(trials["label"].values[total != 0], (total[total != 0] > 0).astype(int))


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_pulses": 0}, ValueError, "n_pulses must be an integer >= 1; got 0"),
        ({"strengths": ()}, ValueError, "strengths must hold at least one value; got an empty sequence"),
        ({"strengths": "123"}, TypeError, "strengths must be a sequence of real numbers; got str"),
        ({"strengths": ((1, 2),)}, ValueError, "strengths must have 1 dimensions"),
        ({"strengths": (1.0, np.inf)}, ValueError, "strengths must be finite"),
        ({"gain": 0.0}, ValueError, r"gain must be > 0.0; got 0.0"),
        ({"sigma": -1.0}, ValueError, r"sigma must be >= 0.0; got -1.0"),
        ({"dt": -50.0}, ValueError, r"dt must be > 0.0; got -50.0"),
        ({"pulse_duration": 120.0}, ValueError, r"pulse_duration must be a non-negative multiple of dt=50.0"),
        ({"fixation": -50.0}, ValueError, r"fixation must be a non-negative multiple of dt=50.0"),
        ({"pulse_duration": 0.0}, ValueError, r"pulse_duration must be at least one step of dt=50.0 ms"),
        ({"decision": 0.0}, ValueError, r"decision must be at least one step of dt=50.0 ms; got 0.0"),
        ({"loss_mask": "all"}, ValueError, r"loss_mask must be one of \['decision', 'paper'\]; got 'all'"),
        ({"pulse_sequences": [[1, 2, 3]]}, ValueError, r"pulse_sequences must have shape \('any', 7\)"),
        ({"pulse_sequences": np.zeros((0, 7))}, ValueError, "pulse_sequences must hold at least one"),
        ({"decision_bound": 0.0}, ValueError, r"decision_bound must be > 0.0; got 0.0"),
        ({"decision_bound": "5"}, TypeError, "decision_bound must be a real number; got str"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        PulsesTask(**params)


def test_bad_replayed_pulses():
    task = PulsesTask()
    with pytest.raises(ValueError, match=r"pulses must have shape \('any', 7\); got array of shape \(3, 6\)"):
        task.trials_from_pulses(np.zeros((3, 6)))
    with pytest.raises(ValueError, match=r"pulses must have 2 dimensions; got array of shape \(7,\)"):
        task.trials_from_pulses(np.zeros(7))
    with pytest.raises(ValueError, match="pulses must be finite"):
        task.trials_from_pulses(np.full((2, 7), np.nan))
    with pytest.raises(ValueError, match=r"pulses must hold at least one sequence; got shape \(0, 7\)"):
        task.trials_from_pulses(np.zeros((0, 7)))
    with pytest.raises(TypeError, match="pulses must be array-like; got list"):
        task.trials_from_pulses([["a"] * 7])
    with pytest.raises(TypeError, match="rng must be an int"):
        task.trials_from_pulses(np.zeros((1, 7)), rng="seed")


def test_config_rebuilds_the_task():
    task = PulsesTask(strengths=[-1, 1], pulse_sequences=np.arange(14).reshape(2, 7), loss_mask="paper")
    config = task.config()
    assert config["task"] == "pulses"
    assert neurodis.make_task("pulses", **{k: v for k, v in config.items() if k != "task"}) == task


def test_sample_arrays_arguments(rng):
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1; got 0"):
        PulsesTask().sample_arrays(0, rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator; got int"):
        PulsesTask().sample_arrays(3, 0)


def slow_bounded_choice(task: PulsesTask, stimulus_nxt: np.ndarray, coin_n: np.ndarray) -> tuple[list, list]:
    """Reference bounded accumulator: walk each trial step by step until the bound."""
    per_pulse = task.gain * round(task.pulse_duration / task.dt)
    labels, commits = [], []
    for stimulus_t, coin in zip(stimulus_nxt, coin_n):
        total, commit = 0.0, -1
        for t, value in enumerate(stimulus_t):
            total += value / per_pulse
            if abs(total) >= task.decision_bound - 1e-9:
                commit = t
                break
        labels.append(int(coin) if abs(total) <= 1e-9 else int(total > 0))
        commits.append(commit)
    return labels, commits


@pytest.mark.parametrize("mask", ["decision", "paper"])
def test_decision_bound_commits_at_the_first_crossing(mask, rng):
    task = PulsesTask(decision_bound=6.0, sigma=0.3, loss_mask=mask, delay=100.0)
    pulses = rng.integers(-4, 5, size=(400, 7))
    trials = task.trials_from_pulses(pulses, rng=4)
    coin = np.random.default_rng(4).random(len(pulses)) < 0.5  # the task's first draw
    labels, commits = slow_bounded_choice(task, trials["inputs"].sel(input="stimulus_0").values, coin)
    np.testing.assert_array_equal(trials["label"].values, labels)
    np.testing.assert_array_equal(trials["commit_step"].values, commits)
    assert 0.2 < np.mean(np.array(commits) >= 0) < 0.9  # both kinds of trial are tested
    targets = trials["targets"].sel(output="choice").values
    d = task.decision_index
    for n, (label, commit) in enumerate(zip(labels, commits)):
        expected = np.full(task.n_steps, 0.5)
        if commit >= 0:
            expected[commit:] = label
        expected[d:] = label
        np.testing.assert_array_equal(targets[n], expected)
    weights = trials["loss_mask"].sel(output="choice").values
    np.testing.assert_array_equal(weights[:, :d], 0.0 if mask == "decision" else 1.0)


def test_unreachable_bound_without_noise_gives_the_unbounded_labels(rng):
    pulses = rng.integers(-4, 5, size=(300, 7))
    plain = PulsesTask().trials_from_pulses(pulses, rng=5)
    bounded = PulsesTask(decision_bound=29.0).trials_from_pulses(pulses, rng=5)  # |partial sums| <= 28
    np.testing.assert_array_equal(bounded["label"].values, plain["label"].values)
    np.testing.assert_array_equal(bounded["targets"].values, plain["targets"].values)
    np.testing.assert_array_equal(bounded["commit_step"].values, -1)


def test_bound_reached_exactly_despite_round_off():
    # 9 steps of gain 0.1 accumulate to 2.999999999999999 pulse units in float64, short of 3
    stimulus = np.cumsum(np.full(9, 0.1)) / (0.1 * 3)  # as the task computes it
    assert stimulus[-1] < 3.0
    task = PulsesTask(gain=0.1, decision_bound=3.0)
    trials = task.trials_from_pulses([[1, 1, 1, -4, -4, -4, -4]], rng=0)
    assert int(trials["label"][0]) == 1
    assert int(trials["commit_step"][0]) == int(task.pulse_onsets[2]) + 2


def test_bounded_choices_weigh_early_pulses_more(rng):
    # an observer that stops at a bound ignores late pulses on the trials that reach it
    import xarray as xr

    from neurodis.analysis import psychophysical_kernel

    pulses = rng.integers(-4, 5, size=(20000, 7))
    task = PulsesTask(decision_bound=6.0, sigma=0.5)
    choices = task.trials_from_pulses(pulses, rng=6)["label"]
    kernel = psychophysical_kernel(xr.DataArray(pulses, dims=("trial", "pulse")), choices.values)
    weights = kernel["weights"].values
    assert weights[0] > weights[-1] + 4 * np.hypot(kernel["se"].values[0], kernel["se"].values[-1])


def test_default_has_no_bound_in_its_config():
    # the option is absent from the configs of unbounded tasks (their run ids stay as they were)
    assert "decision_bound" not in PulsesTask().config()
    task = PulsesTask(decision_bound=20.0, loss_mask="paper")
    config = task.config()
    assert config["decision_bound"] == 20.0
    assert neurodis.make_task("pulses", **{k: v for k, v in config.items() if k != "task"}) == task
    assert "commit_step" not in PulsesTask().trials_from_pulses(np.zeros((1, 7)), rng=0).coords
