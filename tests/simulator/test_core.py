"""simulate / simulate_autonomous / simulate_arrays: parity with the torch CTRNN, labels,
reproducibility, and every bad input."""

from __future__ import annotations

import json

import numba
import numpy as np
import pytest
import torch
import xarray as xr

import neurodis
from neurodis._validation import rng_provenance
from neurodis.models import CTRNN, make_model
from neurodis.simulator import (
    CTRNNWeights,
    simulate,
    simulate_arrays,
    simulate_autonomous,
)
from neurodis.trials import make_trials, validate_trials
from tests.simulator.reference import simulate_reference

N_IN, N_OUT, N = 5, 3, 16
PARITY_TOL = {np.float32: 1e-5, np.float64: 1e-10}


def _weights(**options) -> CTRNNWeights:
    return CTRNNWeights.random(n_inputs=N_IN, n_units=N, n_outputs=N_OUT, rng=7, **options)


def _inputs(n_trials: int = 4, n_steps: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, (n_trials, n_steps, N_IN))


def _trials(n_trials: int = 4, n_steps: int = 8, dt: float = 100.0) -> xr.Dataset:
    inputs = _inputs(n_trials, n_steps)
    return make_trials(inputs=inputs, targets=np.zeros((n_trials, n_steps, N_OUT)),
                       loss_mask=np.ones((n_trials, n_steps, N_OUT)), latents=np.zeros((n_trials, 2)),
                       dt=dt, input_names=[f"in{i}" for i in range(N_IN)],
                       output_names=["a", "b", "c"], trial_coords={"quadrant": np.arange(n_trials) % 4 + 1})


# -- parity with the torch model --------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus", "linear"])
@pytest.mark.parametrize("leaky", [True, False])
@pytest.mark.parametrize("noisy", [False, True])
def test_parity_with_torch_ctrnn(dtype, activation: str, leaky: bool, noisy: bool) -> None:
    levels = {"input_noise": 0.3, "recurrent_noise": 0.2} if noisy else {}
    net = CTRNN(N_IN, N_OUT, n_units=N, tau=100.0, dt=40.0, activation=activation, leaky=leaky,
                gain=1.0 if leaky else 0.5, readout=["sigmoid", "tanh", "linear"][len(activation) % 3],
                seed=3, **levels)
    net = net.double() if dtype == np.float64 else net
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(6, 10, N_IN))
    draws = {"recurrent": rng.normal(size=(6, 10, N)), "input": rng.normal(size=(6, 10, N_IN))}
    with torch.no_grad():
        states, logits = net(torch.tensor(inputs, dtype=tdtype),
                             recurrent_noise=torch.tensor(draws["recurrent"], dtype=tdtype),
                             input_noise=torch.tensor(draws["input"], dtype=tdtype))
        outputs = net.readout.activate(logits)
    result = simulate_arrays(net, inputs, noise=draws, dtype=dtype)
    assert result.rates.dtype == dtype and result.noise == "given"
    for ours, theirs in ((result.rates, states), (result.logits, logits), (result.outputs, outputs)):
        assert np.abs(ours - theirs.numpy()).max() <= PARITY_TOL[dtype]


def test_parity_with_torch_at_paper_sizes_and_initial_state() -> None:
    net = CTRNN(41, 24, n_units=64, seed=1).double()
    inputs = np.random.default_rng(2).normal(size=(3, 22, 41))
    r0 = np.random.default_rng(3).uniform(0, 1, (3, 64))
    with torch.no_grad():
        states, logits = net(torch.tensor(inputs), initial_state=torch.tensor(r0))
    ds = simulate(net, inputs, dtype=np.float64, initial_state=r0)
    assert np.abs(ds["rates"].values - states.numpy()).max() <= 1e-10
    assert np.abs(ds["logits"].values - logits.numpy()).max() <= 1e-10


def test_arrays_agree_with_the_numpy_reference_with_noise() -> None:
    w = _weights(dt=20.0, recurrent_noise=0.5, input_noise=0.5, activation="tanh", readout="tanh")
    rng = np.random.default_rng(4)
    xi, zeta = rng.normal(size=(4, 8, N)), rng.normal(size=(4, 8, N_IN))
    r0 = rng.normal(size=N)
    rates, _, outputs = simulate_reference(w, _inputs(), initial_state=np.tile(r0, (4, 1)), xi=xi,
                                           zeta=zeta)
    result = simulate_arrays(w, _inputs(), noise={"recurrent": xi, "input": zeta}, dtype=np.float64,
                             initial_state=r0)
    np.testing.assert_allclose(result.rates, rates, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.outputs, outputs, rtol=0, atol=1e-12)


# -- labelled results ---------------------------------------------------------------------


def test_simulate_adds_labelled_rates_outputs_and_provenance() -> None:
    trials = _trials()
    ds = simulate(_weights(), trials, rng=5)
    assert ds["rates"].dims == ("trial", "time", "unit") and ds.sizes["unit"] == N
    assert ds["outputs"].dims == ("trial", "time", "output") and list(ds["output"].values) == ["a", "b", "c"]
    np.testing.assert_array_equal(ds["quadrant"], trials["quadrant"])
    xr.testing.assert_identical(ds["inputs"], trials["inputs"])
    assert "rates" not in trials  # the caller's Dataset is untouched
    assert ds.attrs["tau"] == 100.0 and ds.attrs["alpha"] == 1.0 and ds.attrs["simulation_seed"] == 5
    assert '"arch": "ctrnn"' in ds.attrs["model"] and '"noise": "off"' in ds.attrs["simulation"]
    validate_trials(ds)
    resimulated = simulate(_weights(activation="tanh"), ds)  # replaces the earlier results
    assert not np.array_equal(resimulated["rates"], ds["rates"])


def test_simulate_raw_array_and_dataarray_build_a_minimal_dataset() -> None:
    w = _weights(dt=50.0)
    ds = simulate(w, _inputs())
    assert ds.attrs["dt"] == 50.0 and list(ds["time"].values[:3]) == [0.0, 50.0, 100.0]
    assert ds["time"].attrs["units"] == "ms"
    validate_trials(ds, required=("inputs", "rates", "outputs"))
    from_da = simulate(w, ds["inputs"])
    xr.testing.assert_equal(from_da["rates"], ds["rates"])


def test_outputs_are_the_readout_nonlinearity_of_logits() -> None:
    for kind, f in (("sigmoid", lambda z: 1 / (1 + np.exp(-z))), ("tanh", lambda z: 2.5 * np.tanh(z)),
                    ("linear", lambda z: z)):
        ds = simulate(_weights(readout=kind, bound=2.5), _inputs(), dtype=np.float64)
        np.testing.assert_allclose(ds["outputs"], f(ds["logits"].values), rtol=1e-12, atol=1e-15)


def test_simulate_accepts_a_torch_model_and_its_config() -> None:
    net = CTRNN(N_IN, N_OUT, n_units=N, dt=25.0, seed=2)
    ds = simulate(net, _trials(dt=25.0))
    assert ds.attrs["alpha"] == 0.25 and '"dt": 25.0' in ds.attrs["model"]


# -- modes -----------------------------------------------------------------------------


@pytest.mark.parametrize("n_trials", [3, 80])  # per-trial and blocked strategies on one thread
def test_final_only_equals_the_last_step_with_drawn_noise(n_trials: int) -> None:
    w = _weights(dt=25.0, recurrent_noise=0.3, input_noise=0.2)
    inputs = _inputs(n_trials)
    full = simulate(w, inputs, rng=11)
    final = simulate(w, inputs, rng=11, final_only=True)
    np.testing.assert_array_equal(final["final_rates"], full["rates"].isel(time=-1))
    np.testing.assert_array_equal(final["final_outputs"], full["outputs"].isel(time=-1))
    assert final["final_rates"].dims == ("trial", "unit") and "rates" not in final
    assert final.attrs["final_time"] == full["time"].values[-1]


def test_autonomous_equals_simulate_with_a_constant_input() -> None:
    w = _weights(dt=50.0, recurrent_noise=0.2, input_noise=0.1)
    u = np.random.default_rng(0).normal(size=N_IN)
    r0 = np.random.default_rng(1).uniform(0, 1, (6, N))
    ds = simulate(w, np.tile(u, (6, 12, 1)), rng=2, initial_state=r0)
    auto = simulate_autonomous(w, u, 12, initial_states=r0, rng=2)
    np.testing.assert_allclose(auto["rates"], ds["rates"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(auto["time"], ds["time"])
    sub = simulate_autonomous(w, u, 12, initial_states=r0, rng=2, record_every=4)
    np.testing.assert_array_equal(sub["rates"], auto["rates"].isel(time=[3, 7, 11]))
    np.testing.assert_array_equal(sub["time"], [150.0, 350.0, 550.0])
    last = simulate_autonomous(w, u, 12, initial_states=r0, rng=2, final_only=True)
    np.testing.assert_array_equal(last["final_rates"], auto["rates"].isel(time=-1))
    np.testing.assert_array_equal(last["initial_states"], r0.astype(np.float32))


def test_autonomous_without_noise_per_trial_inputs_and_single_state() -> None:
    w = _weights(dt=20.0)
    inputs = np.random.default_rng(0).normal(size=(3, N_IN))
    r0 = np.zeros((3, N))
    auto = simulate_autonomous(w, inputs, 30, initial_states=r0, dtype=np.float64)
    ds = simulate(w, np.repeat(inputs[:, None], 30, axis=1), dtype=np.float64)
    np.testing.assert_allclose(auto["rates"], ds["rates"], rtol=0, atol=1e-12)
    assert auto["input_vector"].dims == ("trial", "input") and auto.attrs["simulation"].endswith('"off"}')
    one = simulate_autonomous(w, inputs[0], 30, initial_states=np.zeros(N), dtype=np.float64)
    np.testing.assert_allclose(one["rates"].isel(trial=0), ds["rates"].isel(trial=0), rtol=0, atol=1e-12)


# -- randomness ------------------------------------------------------------------------


def test_noise_is_reproducible_and_seed_dependent() -> None:
    w = _weights(dt=20.0, recurrent_noise=0.3)
    inputs = _inputs()
    a, b, c = (simulate_arrays(w, inputs, rng=seed).rates for seed in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    generator = np.random.default_rng(1)
    first, second = (simulate_arrays(w, inputs, rng=generator).rates for _ in range(2))
    assert not np.array_equal(first, second)  # a Generator is consumed like a stream
    off = simulate_arrays(w, inputs, rng=1, noise=np.False_)
    assert off.noise == "off" and not np.array_equal(off.rates, a)
    np.testing.assert_array_equal(simulate_arrays(w, inputs, rng=1, noise=True).rates, a)


def _replayed_rates(w: CTRNNWeights, ds: xr.Dataset) -> np.ndarray:
    """The rates of ``ds`` simulated again from its recorded generator state."""
    generator = np.random.default_rng()
    generator.bit_generator.state = json.loads(ds.attrs["simulation_rng_state"])
    return simulate_arrays(w, ds["inputs"].values, rng=generator).rates


@pytest.mark.parametrize("noisy", [False, True])
@pytest.mark.parametrize("rng", [5, np.int64(5), np.random.SeedSequence(5)])
def test_a_seeds_provenance_is_its_generators_whether_noise_is_drawn_or_not(noisy: bool, rng) -> None:
    w = _weights(recurrent_noise=0.3 if noisy else 0.0)
    expected = rng_provenance(rng, np.random.default_rng(rng))
    ds = simulate(w, _trials(), rng=rng)
    autonomous = simulate_autonomous(w, np.ones(N_IN), 4, initial_states=np.ones(N), rng=rng)
    for attrs in (ds.attrs, autonomous.attrs):
        assert (attrs["simulation_seed"], attrs["simulation_rng_state"]) == (expected["seed"], expected["rng_state"])
    np.testing.assert_array_equal(_replayed_rates(w, ds), ds["rates"].values)


@pytest.mark.parametrize("noisy", [False, True])
def test_a_generators_provenance_is_its_state_before_the_draws(noisy: bool) -> None:
    w = _weights(recurrent_noise=0.3 if noisy else 0.0)
    generator = np.random.default_rng(5)
    before = json.dumps(generator.bit_generator.state, default=int)
    ds = simulate(w, _trials(), rng=generator)
    assert ds.attrs["simulation_rng_state"] == before and ds.attrs["simulation_seed"] == -1
    assert (json.dumps(generator.bit_generator.state, default=int) != before) == noisy  # consumed only by draws
    np.testing.assert_array_equal(_replayed_rates(w, ds), ds["rates"].values)


@pytest.mark.parametrize("noisy", [False, True])
def test_without_an_rng_the_provenance_is_a_fresh_pcg64_state(noisy: bool) -> None:
    w = _weights(recurrent_noise=0.3 if noisy else 0.0)
    first, second = simulate(w, _trials()), simulate(w, _trials())
    for ds in (first, second):
        bit_generator = np.random.PCG64()
        bit_generator.state = json.loads(ds.attrs["simulation_rng_state"])  # a state numpy accepts, ...
        assert json.dumps(bit_generator.state, default=int) == ds.attrs["simulation_rng_state"]  # ... as it writes one
        assert ds.attrs["simulation_seed"] == -1
        np.testing.assert_array_equal(_replayed_rates(w, ds), ds["rates"].values)
    assert first.attrs["simulation_rng_state"] != second.attrs["simulation_rng_state"]


def test_the_model_attr_is_the_weights_config_as_json() -> None:
    # in one sequence, so that a config written earlier could stand in for an equal one
    variants = [{}, {"recurrent_noise": -0.0}, {"input_noise": -0.0}, {}, {"activation": "tanh", "leaky": False},
                {"readout": "tanh", "bound": 2.0}, {"recurrent_noise": 0.1}, {"recurrent_noise": -0.0}]
    for options in variants:
        w = _weights(**options)
        assert simulate(w, _trials(), rng=0).attrs["model"] == json.dumps(w.config(), sort_keys=True)
    assert '"recurrent_noise": -0.0' in simulate(_weights(recurrent_noise=-0.0), _trials()).attrs["model"]


@pytest.mark.parametrize(("rng", "error", "match"), [
    (-1, ValueError, "rng must be a non-negative integer seed; got -1"),
    (True, TypeError, "rng must be an int, numpy.random.SeedSequence, numpy.random.Generator or None; got bool"),
    (1.5, TypeError, "rng must be an int, numpy.random.SeedSequence, numpy.random.Generator or None; got float"),
])
def test_a_bad_rng_is_refused_even_when_no_noise_is_drawn(rng, error, match) -> None:
    w = _weights()
    for run in (lambda: simulate(w, _trials(), rng=rng), lambda: simulate_arrays(w, _inputs(), rng=rng),
                lambda: simulate_autonomous(w, np.ones(N_IN), 4, initial_states=np.ones(N), rng=rng)):
        with pytest.raises(error, match=match):
            run()


def test_results_do_not_depend_on_the_thread_count() -> None:
    w = _weights(dt=20.0, recurrent_noise=0.3)
    inputs = _inputs(n_trials=400, n_steps=30)  # enough work for the parallel strategy
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate_arrays(w, inputs, rng=3).rates
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_allclose(simulate_arrays(w, inputs, rng=3).rates, one, rtol=0, atol=2e-6)


# -- divergence and bad input ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:overflow encountered in matmul:RuntimeWarning")
def test_divergence_names_trial_and_step() -> None:
    w = CTRNNWeights(weight_ih=np.full((N, N_IN), 10.0), weight_hh=np.zeros((N, N)), bias=np.zeros(N),
                     readout_weight=np.zeros((N_OUT, N)), readout_bias=np.zeros(N_OUT),
                     activation="linear")
    inputs = np.zeros((4, 8, N_IN))
    inputs[2, 5] = 1e38  # finite in float32, but its projection overflows to inf
    with pytest.raises(ValueError, match=r"diverged\) at trial 2, step 5 \(time 500 ms\); 1 trial"):
        simulate(w, inputs)
    exploding = CTRNNWeights(**{**{k: getattr(w, k) for k in ("weight_ih", "bias", "readout_weight",
                                                             "readout_bias")},
                                "weight_hh": np.eye(N) * 1e3}, activation="linear")
    with pytest.raises(ValueError, match="diverged.*at trial 0"):
        simulate_autonomous(exploding, np.ones(N_IN), 50, initial_states=np.ones(N))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"inputs": np.zeros((2, 3, N_IN + 1))}, ValueError, r"model's n_inputs=5"),
        ({"inputs": np.zeros((0, 3, N_IN))}, ValueError, r"shape \(trial >= 1, time >= 1, 5\)"),
        ({"inputs": np.zeros((2, 3))}, ValueError, "inputs must have 3 dimensions"),
        ({"inputs": np.full((2, 3, N_IN), np.nan)}, ValueError, "inputs must be finite"),
        ({"inputs": np.full((2, 3, N_IN), 1e300)}, ValueError, "inputs must be finite in float32"),
        ({"inputs": np.zeros((2, 3, N_IN), dtype=complex)}, TypeError, "inputs must be a real numeric"),
        ({"inputs": "abc"}, TypeError, "inputs must be a real numeric"),
        ({"dtype": np.float16}, TypeError, "dtype must be numpy.float32 or numpy.float64"),
        ({"initial_state": np.zeros(N + 1)}, ValueError, r"initial_state must have shape \(16,\) or \(2, 16\)"),
        ({"initial_state": np.full(N, np.inf)}, ValueError, "initial_state must be finite"),
        ({"rng": "seed"}, TypeError, "rng must be an int"),
        ({"noise": 0.5}, TypeError, "noise must be None, a bool or a mapping"),
        ({"noise": {"recurrent": np.zeros((2, 3, N)), "other": 1}}, ValueError, r"unknown \['other'\]"),
        ({"noise": {"recurrent": np.zeros((2, 4, N))}}, ValueError, r"noise\['recurrent'\] must have shape \(2, 3, 16\)"),
        ({"noise": {"input": np.full((2, 3, N_IN), np.nan)}}, ValueError, r"noise\['input'\] must be finite"),
    ],
)
def test_bad_arrays_are_refused(kwargs: dict, error: type, match: str) -> None:
    kwargs = {"inputs": np.zeros((2, 3, N_IN)), **kwargs}
    with pytest.raises(error, match=match):
        simulate_arrays(_weights(), kwargs.pop("inputs"), **kwargs)


def test_missing_noise_draws_are_refused() -> None:
    with pytest.raises(ValueError, match=r"missing \['input'\]"):
        simulate_arrays(_weights(input_noise=0.1), np.zeros((2, 3, N_IN)),
                        noise={"recurrent": np.zeros((2, 3, N))})


def test_models_and_trials_the_simulator_cannot_use_are_refused() -> None:
    lstm = make_model("lstm", n_inputs=N_IN, n_outputs=N_OUT, n_units=4)
    with pytest.raises(TypeError, match="model must be a CTRNN"):
        simulate(lstm, _inputs())
    with pytest.raises(TypeError, match="model_or_weights must be a CTRNN model or CTRNNWeights"):
        simulate({"weight_hh": 1}, _inputs())
    with pytest.raises(TypeError, match="trials_or_inputs must be an xarray.Dataset"):
        simulate(_weights(), 3.0)
    with pytest.raises(ValueError, match=r"trials.attrs\['dt'\] must equal the model's dt=50.0"):
        simulate(_weights(dt=50.0), _trials(dt=100.0))
    with pytest.raises(ValueError, match="trials must have 2 outputs"):
        simulate(CTRNNWeights.random(n_inputs=N_IN, n_units=4, n_outputs=2), _trials())
    with pytest.raises(ValueError, match=r"trials must contain variables \['inputs'\]"):
        simulate(_weights(), _trials().drop_vars("inputs"))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.zeros(N_IN), 10), {"record_every": 3}, ValueError, "record_every must divide n_steps=10"),
        ((np.zeros(N_IN), 0), {}, ValueError, "n_steps must be an integer >= 1"),
        ((np.zeros(N_IN), 10), {"record_every": 0}, ValueError, "record_every must be an integer >= 1"),
        ((np.zeros(N_IN + 1), 10), {}, ValueError, r"input_vector must have shape \(5,\) or \(2, 5\)"),
        ((np.zeros((3, N_IN)), 10), {}, ValueError, r"input_vector must have shape"),
        ((np.zeros(N_IN), 10), {"initial_states": np.zeros((2, N + 1))}, ValueError,
         r"initial_states must have shape \(16,\) or \(2, 16\)"),
        ((np.zeros(N_IN), 10), {"initial_states": np.zeros((2, 2, N))}, ValueError,
         "initial_states must have shape"),
        ((np.zeros(N_IN), 2.5), {}, TypeError, "n_steps must be an integer"),
    ],
)
def test_bad_autonomous_arguments_are_refused(args, kwargs, error, match) -> None:
    kwargs = {"initial_states": np.zeros((2, N)), **kwargs}
    with pytest.raises(error, match=match):
        simulate_autonomous(_weights(), *args, **kwargs)


def test_top_level_names_are_lazy() -> None:
    assert neurodis.simulate is simulate and neurodis.CTRNNWeights is CTRNNWeights
    assert neurodis.simulate_autonomous is simulate_autonomous
