"""The free-RT job's repeated evaluations, three decoders and controls (untrained network, averaged evidence)."""

from functools import partial

import numpy as np
import pytest

from neurodis.models import CTRNN
from neurodis.sweeps.studies import (
    FREE_RT_DECODERS,
    measure_free_rt,
    measure_free_rt_controls,
)
from neurodis.tasks import make_task
from neurodis.tasks.encoders import Encoder
from neurodis.training import TrainedNetwork

N_TRIALS, SEED, N_REPEATS = 300, 3, 2
#: Durations up to 19: the tasks' own 20 stimulus steps already hold the T + 1 samples read.
DURATIONS = (2, 19)


def _networks(task_name):
    """A trained-network stand-in and the untrained network of its architecture (other weights)."""
    if task_name == "accumulation":  # with an encoder: its 40 channels are the evidence
        task, encoder = make_task("accumulation", n_tasks=3), Encoder(n_dims=2, seed=0)
        build = partial(CTRNN, 40, 3, n_units=8, readout="tanh")
    else:  # raw stimulus beside a fixation channel
        task, encoder = make_task("classification", n_tasks=2), None
        build = partial(CTRNN, 3, 2, n_units=8)
    return TrainedNetwork(build(seed=0), task, encoder), build(seed=1)


@pytest.fixture(scope="module", params=["accumulation", "classification"])
def measured(request):
    network, untrained = _networks(request.param)
    protocol = {"n_trials": N_TRIALS, "seed": SEED, "durations": DURATIONS, "n_repeats": N_REPEATS}
    return network, untrained, measure_free_rt(network, **protocol), measure_free_rt_controls(network, untrained,
                                                                                              **protocol)


def test_every_decoder_and_control_is_finite_along_repeat_fold_and_duration(measured):
    _, _, result, controls = measured
    for prefix in FREE_RT_DECODERS:
        for name in (f"{prefix}r2_paper", f"{prefix}id_r2_paper"):
            for variable in (result[name], controls[f"untrained_{name}"], controls[f"encoder_{name}"]):
                assert variable.dims[0] == "repeat" and variable.sizes["repeat"] == N_REPEATS
                assert np.isfinite(variable.values).all(), variable.name
    assert result["adam_r2_paper"].dims == ("repeat", "fold", "duration")
    assert controls["encoder_ridge_r2_paper"].sizes == result["ridge_r2_paper"].sizes


def test_repeats_are_independent_and_reproducible(measured):
    network, _, result, _ = measured
    again = measure_free_rt(network, n_trials=N_TRIALS, seed=SEED, durations=DURATIONS, n_repeats=N_REPEATS)
    for name in result.data_vars:
        np.testing.assert_array_equal(again[name].values, result[name].values, err_msg=name)
    # each repeat its own trials: no score is shared between the two evaluations
    for name in ("r2_paper", "ridge_r2_paper", "adam_r2_paper", "id_r2_paper"):
        assert not np.isin(result[name].sel(repeat=0).values, result[name].sel(repeat=1).values).any(), name
    # the first evaluations do not depend on how many follow
    one = measure_free_rt(network, n_trials=N_TRIALS, seed=SEED, durations=DURATIONS, n_repeats=1)
    for name in one.data_vars:
        if "repeat" in one[name].dims:
            np.testing.assert_array_equal(one[name].values, result[name].isel(repeat=[0]).values, err_msg=name)


def test_the_untrained_control_is_measure_free_rt_of_the_untrained_network(measured):
    network, untrained, _, controls = measured
    alone = measure_free_rt(TrainedNetwork(untrained, network.task, network.encoder), n_trials=N_TRIALS, seed=SEED,
                            durations=DURATIONS, n_repeats=N_REPEATS)
    for name in alone.data_vars:
        if "repeat" in alone[name].dims:
            np.testing.assert_array_equal(controls[f"untrained_{name}"].values, alone[name].values, err_msg=name)
    assert not np.array_equal(controls["untrained_r2_paper"].values, measured[2]["r2_paper"].values)


def _evidence_trials(task, encoder, rng):
    """The task's trials as read at the durations, built here from the task's definition: the
    accumulation task's own trials, else free-RT regression trials (stimulus through the decision
    step) of the same latents, noise and timing. Returns them and their first stimulus step."""
    if task.name != "accumulation":
        task = make_task("regression", n_dims=task.n_dims, sigma=task.sigma, free_rt=True, timing=task.timing)
    return task.sample(N_TRIALS, rng=rng, encoder=encoder), task.timing.period_slice("stimulus").start


def _quadrant(latents):
    """Quadrant 1-4 of each trial (counter-clockwise from x0 >= 0, x1 >= 0; 0 counts as positive)."""
    x0, x1 = latents[:, 0] >= 0, latents[:, 1] >= 0
    return np.select([x0 & x1, ~x0 & x1, ~x0 & ~x1], [1, 2, 3], default=4)


def test_the_encoder_control_is_least_squares_on_the_evidence_averaged_over_t_plus_one_steps(measured):
    """Closed form: a least-squares decoder (with intercept) of the stimulus channels averaged
    over steps first .. first + T, trained outside one quadrant and scored inside it."""
    network, _, _, controls = measured
    streams = np.random.SeedSequence(SEED).spawn(2 * N_REPEATS)
    for repeat in range(N_REPEATS):
        trial_rng = np.random.default_rng(streams[2 * repeat]).spawn(2)[0]
        trials, first = _evidence_trials(network.task, network.encoder, trial_rng)
        names = [str(name) for name in trials["input"].values]
        evidence = trials["inputs"].values[:, :, [k for k, name in enumerate(names) if name != "fixation"]]
        latents = trials["latents"].values
        quadrant = _quadrant(latents)
        for duration in DURATIONS:
            averaged = evidence[:, first:first + duration + 1].mean(axis=1)
            design = np.column_stack([averaged, np.ones(N_TRIALS)])
            for fold in range(1, 5):
                test = quadrant == fold
                weights = np.linalg.lstsq(design[~test], latents[~test], rcond=None)[0]
                r2_paper = 1 - np.mean((design[test] @ weights - latents[test]) ** 2) * 12
                stored = controls["encoder_r2_paper"].sel(repeat=repeat, fold=f"Q{fold}", duration=duration)
                assert float(stored) == pytest.approx(r2_paper, abs=1e-8), (repeat, fold, duration)


def test_the_averaged_raw_stimulus_decodes_at_the_linear_optimum_of_t_plus_one_samples():
    """Without an encoder the averaged stimulus is the running mean of T + 1 samples: its
    in-distribution r² is v/(v + σ²/(T + 1)) (v = 1/12) in expectation, whatever the prior;
    2 × 2000 trials give an sd of about 0.003 at T = 2 (atol: 3 sd). With T samples it would be 0.056 lower at T = 2."""
    network, untrained = _networks("classification")
    controls = measure_free_rt_controls(network, untrained, n_trials=2000, seed=SEED, durations=DURATIONS,
                                        n_repeats=2)
    v = 1 / 12
    optimum = v / (v + network.task.sigma**2 / (np.array(DURATIONS) + 1))
    np.testing.assert_allclose(controls["encoder_id_r2_paper"].mean("repeat").values, optimum, atol=0.01)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"n_repeats": 0}, ValueError, r"n_repeats must be an integer >= 1; got 0"),
        ({"n_repeats": "2"}, TypeError, r"n_repeats must be an integer; got str '2'"),
        ({"seed": -1}, ValueError, r"seed must be an integer >= 0; got -1"),
        ({"n_trials": 0}, ValueError, r"n_trials must be an integer >= 1; got 0"),
        ({"durations": (4, 4)}, ValueError, r"durations must be distinct stimulus step counts"),
    ],
)
@pytest.mark.parametrize("measure", ["measure_free_rt", "measure_free_rt_controls"])
def test_bad_evaluation_settings_are_named(measure, changes, error, match):
    network, untrained = _networks("accumulation")
    protocol = {"n_trials": N_TRIALS, "seed": SEED, "durations": DURATIONS, "n_repeats": N_REPEATS, **changes}
    call = (lambda: measure_free_rt(network, **protocol)) if measure == "measure_free_rt" else (
        lambda: measure_free_rt_controls(network, untrained, **protocol))
    with pytest.raises(error, match=match):
        call()

