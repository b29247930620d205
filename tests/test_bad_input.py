"""Malformed calls to the public API: each must raise ValueError or TypeError naming the argument.

One row per call: ``(id, call, expected exception, match)``. A call that raises any
other exception (AttributeError, KeyError, IndexError, MemoryError, numpy's LinAlgError,
ZeroDivisionError, ...) or returns (possibly NaN) fails its test. Size-limit rows use
sizes far beyond any machine's memory; they must fail before allocating anything.
This file covers tasks, encoders, models, the simulator, training configuration, the
trials helpers and recordings; ``test_bad_input_analysis.py`` covers the analyses and
plotting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import xarray as xr

import neurodis
from neurodis import recordings as rec
from neurodis import simulator as sim
from neurodis import tasks as T
from neurodis.models import CTRNN, GRU, LSTM, CausalTransformer, Readout, make_model
from neurodis.training import TrainConfig, make_network, train

#: ``(test id, call, expected exception, regex the message must match)``
Case = tuple[str, Callable[[], Any], type[Exception], str]


def bad_int_cases(prefix: str, make: Callable[[Any], Any], name: str, minimum: int = 1) -> list[Case]:
    """Five malformed values of an integer argument: below its minimum, float, str, bool, None."""
    values = [("below-min", minimum - 1, ValueError), ("float", 1.5, TypeError), ("str", "2", TypeError),
              ("bool", True, TypeError), ("none", None, TypeError)]
    return [(f"{prefix}-{name}-{label}", lambda v=value: make(v), error, f"{name} must be an integer")
            for label, value, error in values]


def check_case(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    """``call()`` raises ``error`` (not numpy's LinAlgError, a ValueError subclass) matching ``match``."""
    with pytest.raises(error, match=match) as info:
        call()
    assert not isinstance(info.value, np.linalg.LinAlgError), f"a numpy error escaped: {info.value}"


TASK = neurodis.make_task("classification", n_tasks=3)
TRIALS = TASK.sample(4, rng=0)
W = sim.CTRNNWeights.random(n_inputs=3, n_units=4, n_outputs=3, rng=0)
MODEL = make_model("ctrnn", n_inputs=3, n_outputs=3, n_units=4)
ENC = T.Encoder(n_dims=2, hidden=(4,), n_out=5)
INPUTS = np.zeros((2, 5, 3))
V, E = ValueError, TypeError


def _make(name, **kw):
    return lambda: neurodis.make_task(name, **kw)


def _sample(n, **kw):
    return lambda: TASK.sample(n, **kw)


CASES: list[Case] = [
    # ---------------------------------------------------------------- task registry
    ("make_task-unknown-name", lambda: neurodis.make_task("nope"), V, "name must be one of"),
    ("make_task-name-int", lambda: neurodis.make_task(3), V, "name must be one of"),
    ("make_task-unknown-param", _make("classification", n_task=3), E, "unknown"),
    ("make_task-timing-bad-key", _make("classification", timing={"stim": 100}), E, "stim"),
    ("make_task-timing-str", _make("classification", timing="fast"), E, "timing"),
    ("register_task-no-name", lambda: T.register_task(type("X", (T.Task,), {})), V, "name"),
    # ---------------------------------------------------------------- classification
    *bad_int_cases("classification", lambda v: neurodis.make_task("classification", n_tasks=v), "n_tasks"),
    *bad_int_cases("classification", lambda v: neurodis.make_task("classification", n_dims=v), "n_dims"),
    *bad_int_cases("classification", lambda v: neurodis.make_task("classification", trials_per_sequence=v),
                   "trials_per_sequence"),
    *bad_int_cases("classification", lambda v: neurodis.make_task("classification", boundary_seed=v),
                   "boundary_seed", minimum=0),
    ("classification-n_tasks-huge", _make("classification", n_tasks=10**13), V, r"n_tasks=10+ would need about"),
    ("classification-n_dims-huge", _make("classification", n_dims=10**13), V, r"n_dims=10+ would need about"),
    ("classification-n_dims-correlated-huge", _make("classification", n_dims=10**6, latent_correlation=0.1),
     V, r"n_dims=10+ would need about .* correlation matrix"),
    ("classification-timing-huge", _make("classification", timing={"stimulus": 1e17}), V, "timing=.* would need"),
    ("classification-sigma-negative", _make("classification", sigma=-0.1), V, "sigma"),
    ("classification-sigma-nan", _make("classification", sigma=float("nan")), V, "sigma"),
    ("classification-sigma-str", _make("classification", sigma="0.2"), E, "sigma"),
    ("classification-noise-unknown", _make("classification", noise="pink"), V, "noise"),
    ("classification-noise-params-list", _make("classification", noise_params=[1]), E, "noise_params"),
    ("classification-noise-params-unknown", _make("classification", noise_params={"ar": 0.5}), E, "ar"),
    ("classification-boundary-unknown", _make("classification", boundary="square"), V, "boundary"),
    ("classification-circular-3d", _make("classification", boundary="circular", n_dims=3), V, "n_dims=2"),
    ("classification-multiplicative-n_tasks", _make("classification", boundary="multiplicative", n_tasks=5),
     V, "n_tasks must be divisible by 4"),
    ("classification-loss_mask-unknown", _make("classification", loss_mask="all"), V, "loss_mask"),
    ("classification-correlation-1", _make("classification", latent_correlation=1.0), V, "latent_correlation"),
    ("classification-correlation-low", _make("classification", n_dims=3, latent_correlation=-0.6),
     V, "latent_correlation"),
    ("classification-correlation-str", _make("classification", latent_correlation="0"), E, "latent_correlation"),
    ("classification-timing-no-decision", _make("classification", timing={"decision": 0}), V, "timing.decision"),
    ("classification-timing-no-stimulus", _make("classification", timing={"stimulus": 0}), V, "timing.stimulus"),
    ("timing-stimulus-not-multiple", lambda: T.Timing(stimulus=250.0), V, "stimulus must be a non-negative multiple"),
    ("timing-dt-zero", lambda: T.Timing(dt=0.0), V, "dt must be > 0"),
    ("timing-dt-str", lambda: T.Timing(dt="100"), E, "dt must be a real number"),
    ("timing-negative", lambda: T.Timing(fixation=-100.0), V, "fixation"),
    ("timing-all-zero", lambda: T.Timing(fixation=0, stimulus=0, decision=0), V, "timing must have at least one step"),
    ("timing-steps-unknown", lambda: T.Timing().steps("cue"), V, "period must be one of"),
    ("classification-labels-shape", lambda: TASK.labels(np.zeros((3, 5))), V, "latents must have shape"),
    ("classification-labels-nan", lambda: TASK.labels(np.full((3, 2), np.nan)), V, "latents must be finite"),
    ("classification-ideal_logits-type", lambda: TASK.ideal_logits("batch"), E, "batch must be a TrialBatch"),
    ("classification-ideal_observer-type", lambda: TASK.ideal_observer(np.zeros(3)), E, "trials must be"),
    ("classification-normals-nonlinear",
     lambda: neurodis.make_task("classification", boundary="circular").normals, V, "normals exist for"),
    # ---------------------------------------------------------------- sample / sample_arrays
    *bad_int_cases("sample", lambda v: TASK.sample(v), "n_trials"),
    ("sample-n_trials-huge", _sample(10**13), V, r"n_trials=10000000000000 would need about .* split the sampling"),
    ("sample-n_trials-huge-encoded", lambda: TASK.sample(10**13, encoder=ENC), V, "n_trials=.* would need"),
    ("sample-encoder-str", _sample(4, encoder="relu"), E, "encoder must be a neurodis Encoder"),
    ("sample-encoder-int", _sample(4, encoder=3), E, "encoder must be a neurodis Encoder"),
    ("sample-encoder-wrong-dims", _sample(4, encoder=T.Encoder(n_dims=3, hidden=(2,), n_out=2)), V,
     "inputs must have n_dims=3 channels named 'stimulus"),
    ("sample-rng-str", _sample(4, rng="zero"), E, "rng must be"),
    ("sample-rng-negative", _sample(4, rng=-1), V, "rng must be a non-negative"),
    ("sample-rng-float", _sample(4, rng=1.5), E, "rng must be"),
    ("sample_arrays-rng-int", lambda: TASK.sample_arrays(4, 0), E, "rng must be a numpy.random.Generator"),
    ("sample_arrays-n_trials-zero", lambda: TASK.sample_arrays(0, np.random.default_rng(0)), V, "n_trials"),
    ("check_batch_memory-huge", lambda: TASK.check_batch_memory(10**14), V, "n_trials=.* would need"),
    # ---------------------------------------------------------------- other tasks
    *bad_int_cases("regression", lambda v: neurodis.make_task("regression", n_dims=v), "n_dims"),
    ("regression-n_dims-huge", _make("regression", n_dims=10**13), V, "n_dims=.* would need"),
    ("regression-orthants-out-of-range", _make("regression", orthants=(4,)), V, "orthants entry"),
    ("regression-orthants-str", _make("regression", orthants=("a",)), E, "orthants entry"),
    ("regression-free_rt-str", _make("regression", free_rt="yes"), E, "free_rt must be a bool"),
    ("regression-sigma-negative", _make("regression", sigma=-1.0), V, "sigma"),
    *bad_int_cases("accumulation", lambda v: neurodis.make_task("accumulation", n_tasks=v), "n_tasks"),
    *bad_int_cases("accumulation", lambda v: neurodis.make_task("accumulation", n_dims=v), "n_dims"),
    ("accumulation-n_tasks-huge", _make("accumulation", n_tasks=10**13), V, "n_tasks=.* would need"),
    ("accumulation-bound-zero", _make("accumulation", bound=0.0), V, "bound must be > 0"),
    ("accumulation-bound-inf", _make("accumulation", bound=float("inf")), V, "bound must be a finite"),
    ("accumulation-timing-no-stimulus", _make("accumulation", timing={"stimulus": 0}), V, "timing.stimulus"),
    *bad_int_cases("flipflop", lambda v: neurodis.make_task("flipflop", n_bits=v), "n_bits"),
    ("flipflop-n_bits-huge", _make("flipflop", n_bits=10**13), V, "n_bits=.* would need"),
    ("flipflop-duration-huge", _make("flipflop", duration=1e18), V, "duration=.* would need"),
    ("flipflop-p_pulse-above-1", _make("flipflop", p_pulse=1.5), V, "p_pulse"),
    ("flipflop-p_pulse-str", _make("flipflop", p_pulse="0.1"), E, "p_pulse"),
    ("flipflop-duration-not-multiple", _make("flipflop", duration=105.0), V,
     "duration must be a non-negative multiple"),
    ("flipflop-dt-zero", _make("flipflop", dt=0.0), V, "dt must be > 0"),
    ("flipflop-sample-huge", lambda: neurodis.make_task("flipflop").sample(10**13), V, "n_trials=.* would need"),
    *bad_int_cases("pulses", lambda v: neurodis.make_task("pulses", n_pulses=v), "n_pulses"),
    ("pulses-n_pulses-huge", _make("pulses", n_pulses=10**14), V, "n_pulses=.* would need"),
    ("pulses-strengths-empty", _make("pulses", strengths=()), V, "strengths must hold at least one"),
    ("pulses-strengths-str", _make("pulses", strengths="1,2"), E, "strengths"),
    ("pulses-strengths-nan", _make("pulses", strengths=(1.0, float("nan"))), V, "strengths must be finite"),
    ("pulses-gain-zero", _make("pulses", gain=0.0), V, "gain must be > 0"),
    ("pulses-sigma-negative", _make("pulses", sigma=-1.0), V, "sigma"),
    ("pulses-dt-zero", _make("pulses", dt=0.0), V, "dt"),
    ("pulses-pulse_duration-zero", _make("pulses", pulse_duration=0.0), V, "pulse_duration must be at least"),
    ("pulses-fixation-not-multiple", _make("pulses", fixation=75.0), V, "fixation must be a non-negative multiple"),
    ("pulses-loss_mask-unknown", _make("pulses", loss_mask="all"), V, "loss_mask"),
    ("pulses-sample-huge", lambda: neurodis.make_task("pulses").sample(10**14), V, "n_trials=.* would need"),
    # ---------------------------------------------------------------- latents and noise
    ("LatentPrior-n_dims-zero", lambda: T.LatentPrior(0), V, "n_dims must be an integer >= 1"),
    ("LatentPrior-n_dims-float", lambda: T.LatentPrior(2.0), E, "n_dims must be an integer"),
    ("LatentPrior-huge-correlated", lambda: T.LatentPrior(10**8, 0.1), V, "n_dims=.* would need"),
    ("LatentPrior-orthants-with-correlation", lambda: T.LatentPrior(2, 0.1, orthants=[0]), V, "orthants cannot be"),
    ("LatentPrior-correlation-nan", lambda: T.LatentPrior(2, float("nan")), V, "latent_correlation"),
    ("LatentPrior-sample-rng", lambda: T.LatentPrior(2).sample(0, 3), E, "rng must be"),
    ("orthant_of-1d", lambda: T.orthant_of(np.zeros(3)), V, "latents"),
    ("orthant_of-nan", lambda: T.orthant_of(np.full((2, 2), np.nan)), V, "latents must be finite"),
    ("orthant_of-str", lambda: T.orthant_of("x"), E, "latents must be a numeric array"),
    ("quadrant_of-3d-latents", lambda: T.quadrant_of(np.zeros((2, 3))), V, "latents"),
    ("quadrant_to_orthant-zero", lambda: T.quadrant_to_orthant(0), V, "quadrant"),
    ("quadrant_to_orthant-five", lambda: T.quadrant_to_orthant([1, 5]), V, "quadrant"),
    ("quadrant_to_orthant-float", lambda: T.quadrant_to_orthant(1.5), E, "quadrant"),
    ("make_noise-unknown", lambda: T.make_noise("pink"), V, "name must be one of|noise"),
    ("make_noise-sigma-negative", lambda: T.make_noise("gaussian", sigma=-1.0), V, "sigma"),
    ("make_noise-unknown-param", lambda: T.make_noise("gaussian", ar=0.5), E, "ar"),
    ("make_noise-ar1-ar-1", lambda: T.make_noise("ar1", ar=1.0), V, "ar"),
    ("make_noise-anisotropic-ratio-zero", lambda: T.make_noise("anisotropic", ratio=0.0), V, "ratio"),
    # ---------------------------------------------------------------- encoders
    *bad_int_cases("Encoder", lambda v: T.Encoder(n_dims=v), "n_dims"),
    *bad_int_cases("Encoder", lambda v: T.Encoder(n_out=v), "n_out"),
    ("Encoder-n_out-huge", lambda: T.Encoder(n_out=10**13), V, r"n_out=.* would need"),
    ("Encoder-hidden-huge", lambda: T.Encoder(hidden=(10**8, 10**8)), V, r"hidden\[0\]=.* would need"),
    ("Encoder-hidden-zero", lambda: T.Encoder(hidden=(0,)), V, r"hidden\[0\] must be an integer >= 1"),
    ("Encoder-hidden-int", lambda: T.Encoder(hidden=100), E, "hidden must be a sequence"),
    ("Encoder-hidden-float", lambda: T.Encoder(hidden=(1.5,)), E, r"hidden\[0\] must be an integer"),
    ("Encoder-kind-unknown", lambda: T.Encoder(kind="tanh"), V, "kind must be one of"),
    ("Encoder-seed-negative", lambda: T.Encoder(seed=-1), V, "seed must be an integer >= 0"),
    ("Encoder-encode-wrong-width", lambda: ENC.encode(np.zeros((3, 4))), V, "stimulus"),
    ("Encoder-encode-nan", lambda: ENC.encode(np.full((3, 2), np.nan)), V, "stimulus must be finite"),
    ("Encoder-encode-str", lambda: ENC.encode("x"), E, "stimulus must be a numeric array"),
    ("Encoder-encode_inputs-names", lambda: ENC.encode_inputs(np.zeros((1, 2, 3)), ["a"]), V, "input_names"),
    ("Encoder-encode_trials-type", lambda: ENC.encode_trials(np.zeros(3)), E, "trials must be"),
    ("Encoder-n_inputs_after-small", lambda: ENC.n_inputs_after(1), V, "n_inputs must be an integer >= 2"),
    ("Encoder-from_dict-type", lambda: T.Encoder.from_dict([1]), E, "data must be a dict"),
    # ---------------------------------------------------------------- models
    *bad_int_cases("CTRNN", lambda v: CTRNN(3, 2, v), "n_units"),
    *bad_int_cases("CTRNN", lambda v: CTRNN(v, 2, 4), "n_inputs"),
    *bad_int_cases("CTRNN", lambda v: CTRNN(3, v, 4), "n_outputs"),
    ("CTRNN-n_units-huge", lambda: CTRNN(3, 2, 10**7), V, r"n_units=10000000 would need about"),
    ("CTRNN-n_inputs-huge", lambda: CTRNN(10**13, 2, 4), V, r"n_inputs=.* would need"),
    ("CTRNN-tau-zero", lambda: CTRNN(3, 2, 4, tau=0.0), V, "tau must be > 0"),
    ("CTRNN-dt-above-tau", lambda: CTRNN(3, 2, 4, dt=200.0), V, "alpha = dt/tau"),
    ("CTRNN-activation-unknown", lambda: CTRNN(3, 2, 4, activation="gelu"), V, "activation must be one of"),
    ("CTRNN-leaky-str", lambda: CTRNN(3, 2, 4, leaky="yes"), E, "leaky must be a bool"),
    ("CTRNN-init-unknown", lambda: CTRNN(3, 2, 4, init="xavier"), V, "init must be one of"),
    ("CTRNN-gain-zero", lambda: CTRNN(3, 2, 4, gain=0.0), V, "gain must be > 0"),
    ("CTRNN-density-zero", lambda: CTRNN(3, 2, 4, density=0.0), V, "density must be in"),
    ("CTRNN-density-above-1", lambda: CTRNN(3, 2, 4, density=1.5), V, "density"),
    ("CTRNN-noise-negative", lambda: CTRNN(3, 2, 4, recurrent_noise=-0.1), V, "recurrent_noise"),
    ("CTRNN-input-noise-str", lambda: CTRNN(3, 2, 4, input_noise="0"), E, "input_noise"),
    ("CTRNN-readout-unknown", lambda: CTRNN(3, 2, 4, readout="softmax"), V, "readout must be one of"),
    ("CTRNN-bound-zero", lambda: CTRNN(3, 2, 4, bound=0.0), V, "bound must be > 0"),
    ("CTRNN-seed-negative", lambda: CTRNN(3, 2, 4, seed=-1), V, "seed must be an integer >= 0"),
    ("CTRNN-forward-numpy", lambda: MODEL(np.zeros((1, 2, 3), np.float32)), E, "inputs must be a torch.Tensor"),
    ("CTRNN-forward-wrong-width", lambda: MODEL(torch.zeros(1, 2, 5)), V, "inputs"),
    ("CTRNN-forward-str", lambda: MODEL("x"), E, "inputs"),
    ("CTRNN-forward-empty", lambda: MODEL(torch.zeros(0, 2, 3)), V, "inputs must have at least one trial"),
    ("CTRNN-forward-generator", lambda: MODEL(torch.zeros(1, 2, 3), generator=3), E, "generator"),
    *bad_int_cases("LSTM", lambda v: LSTM(3, 2, 4, n_layers=v), "n_layers"),
    ("LSTM-n_units-huge", lambda: LSTM(3, 2, 10**7), V, "n_units=.* would need"),
    ("GRU-n_units-zero", lambda: GRU(3, 2, 0), V, "n_units must be an integer >= 1"),
    ("GRU-n_units-huge", lambda: GRU(3, 2, 10**7), V, "n_units=.* would need"),
    ("GRU-readout-unknown", lambda: GRU(3, 2, 4, readout="relu"), V, "readout"),
    *bad_int_cases("Transformer", lambda v: CausalTransformer(3, 2, 8, n_heads=v), "n_heads"),
    ("Transformer-max_len-zero", lambda: CausalTransformer(3, 2, 8, max_len=0), V, "max_len must be an integer >= 1"),
    ("Transformer-max_len-huge", lambda: CausalTransformer(3, 2, 8, max_len=10**14), V, "max_len=.* would need"),
    ("Transformer-n_units-huge", lambda: CausalTransformer(3, 2, 10**7), V, "n_units=.* would need"),
    ("Transformer-dropout-1", lambda: CausalTransformer(3, 2, 8, dropout=1.0), V, "dropout must be < 1"),
    ("Transformer-dropout-negative", lambda: CausalTransformer(3, 2, 8, dropout=-0.1), V, "dropout"),
    ("Transformer-positional-unknown", lambda: CausalTransformer(3, 2, 8, positional="rope"), V, "positional"),
    ("Transformer-heads-not-dividing", lambda: CausalTransformer(3, 2, 8, n_heads=3), V, "n_heads"),
    ("Readout-kind-unknown", lambda: Readout(4, 2, "softmax"), V, "readout must be one of"),
    ("Readout-n_units-zero", lambda: Readout(0, 2), V, "n_units"),
    ("make_model-unknown", lambda: make_model("rnn", n_inputs=3, n_outputs=2), V, "arch must be one of"),
    ("make_model-unknown-kwarg", lambda: make_model("ctrnn", n_inputs=3, n_outputs=2, width=4), E, "width"),
    ("make_network-task-str", lambda: make_network("classification"), E, "task must be a neurodis Task"),
    ("make_network-arch-unknown", lambda: make_network(TASK, "rnn"), V, "arch must be one of"),
    ("make_network-n_units-huge", lambda: make_network(TASK, n_units=10**7), V, r"n_units=10000000 would need"),
    ("make_network-n_units-zero", lambda: make_network(TASK, n_units=0), V, "n_units must be an integer >= 1"),
    ("make_network-encoder-str", lambda: make_network(TASK, encoder="relu"), E, "encoder must be a neurodis Encoder"),
    # ---------------------------------------------------------------- simulator
    ("simulate-final_only-str", lambda: sim.simulate(W, INPUTS, final_only="yes"), E, "final_only must be a bool"),
    ("simulate-final_only-int", lambda: sim.simulate(W, INPUTS, final_only=1), E, "final_only must be a bool"),
    ("simulate_arrays-final_only-str", lambda: sim.simulate_arrays(W, INPUTS, final_only="no"), E, "final_only"),
    ("simulate-model-str", lambda: sim.simulate("net", INPUTS), E, "model"),
    ("simulate-inputs-wrong-width", lambda: sim.simulate(W, np.zeros((2, 5, 4))), V, "inputs must have shape"),
    ("simulate-inputs-2d", lambda: sim.simulate(W, np.zeros((5, 3))), V, "inputs"),
    ("simulate-inputs-nan", lambda: sim.simulate(W, np.full((2, 5, 3), np.nan)), V, "inputs must be finite"),
    ("simulate-inputs-str", lambda: sim.simulate(W, "x"), E, "inputs|trials"),
    ("simulate_arrays-inputs-huge", lambda: sim.simulate_arrays(
        W, np.broadcast_to(np.zeros(3, np.float32), (10**9, 10**4, 3))), V, r"inputs=<array of shape .* would need"),
    ("simulate-inputs-empty", lambda: sim.simulate_arrays(W, np.zeros((0, 5, 3))), V, "inputs must have shape"),
    ("simulate-dtype-int", lambda: sim.simulate(W, INPUTS, dtype=np.int32), E, "dtype"),
    ("simulate-dtype-str", lambda: sim.simulate(W, INPUTS, dtype="half"), E, "dtype"),
    ("simulate-rng-str", lambda: sim.simulate(W, INPUTS, rng="x"), E, "rng must be"),
    ("simulate-noise-str", lambda: sim.simulate(W, INPUTS, noise="yes"), E, "noise"),
    ("simulate-noise-bad-key", lambda: sim.simulate(W, INPUTS, noise={"hidden": np.zeros(1)}), V, "noise"),
    ("simulate-initial_state-shape", lambda: sim.simulate(W, INPUTS, initial_state=np.zeros(5)), V, "initial_state"),
    ("simulate-initial_state-nan", lambda: sim.simulate(W, INPUTS, initial_state=np.full(4, np.nan)), V,
     "initial_state must be finite"),
    ("simulate-trials-dt-mismatch", lambda: sim.simulate(W, TRIALS.assign_attrs(dt=50.0)), V, "dt"),
    ("simulate-trials-missing-inputs", lambda: sim.simulate(W, TRIALS.drop_vars("inputs")), V, "inputs"),
    ("simulate-outputs-mismatch", lambda: sim.simulate(sim.CTRNNWeights.random(n_inputs=3, n_units=4, n_outputs=2),
                                                      TRIALS), V, "output"),
    *bad_int_cases("simulate_autonomous",
                   lambda v: sim.simulate_autonomous(W, np.zeros(3), v, initial_states=np.zeros(4)), "n_steps"),
    *bad_int_cases("simulate_autonomous",
                   lambda v: sim.simulate_autonomous(W, np.zeros(3), 4, initial_states=np.zeros(4), record_every=v),
                   "record_every"),
    ("simulate_autonomous-n_steps-huge",
     lambda: sim.simulate_autonomous(W, np.zeros(3), 10**14, initial_states=np.zeros(4)), V, "n_steps=.* would need"),
    ("simulate_autonomous-record_every-not-dividing",
     lambda: sim.simulate_autonomous(W, np.zeros(3), 5, initial_states=np.zeros(4), record_every=2), V,
     "record_every must divide n_steps"),
    ("simulate_autonomous-final_only-str",
     lambda: sim.simulate_autonomous(W, np.zeros(3), 5, initial_states=np.zeros(4), final_only="yes"), E,
     "final_only must be a bool"),
    ("simulate_autonomous-input-width",
     lambda: sim.simulate_autonomous(W, np.zeros(2), 5, initial_states=np.zeros(4)), V, "input_vector must have shape"),
    ("simulate_autonomous-states-width",
     lambda: sim.simulate_autonomous(W, np.zeros(3), 5, initial_states=np.zeros(3)), V, "initial_states"),
    ("simulate_autonomous-input-nan",
     lambda: sim.simulate_autonomous(W, np.full(3, np.nan), 5, initial_states=np.zeros(4)), V,
     "input_vector must be finite"),
    ("as_weights-str", lambda: sim.as_weights("w"), E, "model"),
    ("as_weights-gru", lambda: sim.as_weights(GRU(3, 2, 4)), E, "CTRNN"),
    *bad_int_cases("CTRNNWeights.random", lambda v: sim.CTRNNWeights.random(n_inputs=3, n_units=v, n_outputs=2),
                   "n_units"),
    ("CTRNNWeights.random-n_units-huge",
     lambda: sim.CTRNNWeights.random(n_inputs=3, n_units=10**7, n_outputs=2), V, r"n_units=10000000 would need"),
    ("CTRNNWeights.random-dt-above-tau",
     lambda: sim.CTRNNWeights.random(n_inputs=3, n_units=4, n_outputs=2, dt=200.0), V, "dt must be <= tau"),
    ("CTRNNWeights-shape-mismatch", lambda: sim.CTRNNWeights(
        weight_ih=np.zeros((4, 3)), weight_hh=np.zeros((4, 5)), bias=np.zeros(4), readout_weight=np.zeros((2, 4)),
        readout_bias=np.zeros(2)), V, "weight_hh"),
    ("CTRNNWeights-nan", lambda: sim.CTRNNWeights(
        weight_ih=np.zeros((4, 3)), weight_hh=np.full((4, 4), np.nan), bias=np.zeros(4),
        readout_weight=np.zeros((2, 4)), readout_bias=np.zeros(2)), V, "weight_hh must be finite"),
    ("CTRNNWeights-activation-unknown", lambda: sim.CTRNNWeights.random(
        n_inputs=3, n_units=4, n_outputs=2, activation="gelu"), V, "activation"),
    ("CTRNNWeights-readout-unknown", lambda: sim.CTRNNWeights.random(
        n_inputs=3, n_units=4, n_outputs=2, readout="softmax"), V, "readout"),
    ("CTRNNWeights-leaky-str", lambda: sim.CTRNNWeights.random(
        n_inputs=3, n_units=4, n_outputs=2, leaky="no"), E, "leaky"),
    # ---------------------------------------------------------------- training configuration (no training)
    *bad_int_cases("TrainConfig", lambda v: TrainConfig(n_batches=v), "n_batches"),
    *bad_int_cases("TrainConfig", lambda v: TrainConfig(batch_size=v), "batch_size"),
    *bad_int_cases("TrainConfig", lambda v: TrainConfig(log_every=v, checkpoint_every=1000), "log_every"),
    ("TrainConfig-batch_size-huge", lambda: TrainConfig(batch_size=10**13), V, r"batch_size=.* would need"),
    ("TrainConfig-ideal_trials-huge", lambda: TrainConfig(ideal_trials=10**13), V, r"ideal_trials=.* would need"),
    ("TrainConfig-ideal_trials-negative", lambda: TrainConfig(ideal_trials=-1), V, "ideal_trials"),
    ("TrainConfig-lr-zero", lambda: TrainConfig(lr=0.0), V, "lr must be > 0"),
    ("TrainConfig-lr-nan", lambda: TrainConfig(lr=float("nan")), V, "lr must be a finite"),
    ("TrainConfig-lr-str", lambda: TrainConfig(lr="1e-3"), E, "lr must be a real"),
    ("TrainConfig-loss-unknown", lambda: TrainConfig(loss="ce"), V, "loss must be one of"),
    ("TrainConfig-grad_clip-zero", lambda: TrainConfig(grad_clip=0.0), V, "grad_clip must be > 0"),
    ("TrainConfig-checkpoint-not-multiple", lambda: TrainConfig(checkpoint_every=150, log_every=100), V,
     "checkpoint_every must be a multiple"),
    ("TrainConfig-device-unknown", lambda: TrainConfig(device="tpu"), V, "device must be one of"),
    ("TrainConfig-seed-negative", lambda: TrainConfig(seed=-1), V, "seed must be an integer >= 0"),
    ("TrainConfig-encoder-unknown", lambda: TrainConfig(encoder="tanh"), V, "encoder must be one of"),
    ("TrainConfig-from_dict-unknown", lambda: TrainConfig.from_dict({"epochs": 3}), E, "epochs"),
    ("TrainConfig-from_dict-list", lambda: TrainConfig.from_dict([1]), E, "data must be a dict"),
    ("TrainConfig-differences-type", lambda: TrainConfig().differences({}), E, "other must be a TrainConfig"),
    ("train-task-str", lambda: train("classification", MODEL, TrainConfig(n_batches=1), progress=False), E, "task"),
    ("train-model-str", lambda: train(TASK, "ctrnn", TrainConfig(n_batches=1), progress=False), E, "model"),
    ("train-config-dict", lambda: train(TASK, MODEL, {"n_batches": 1}, progress=False), E, "config"),
    # ---------------------------------------------------------------- trials helpers
    ("make_trials-inputs-2d", lambda: neurodis.make_trials(
        inputs=np.zeros((2, 3)), targets=np.zeros((2, 3, 1)), loss_mask=np.ones((2, 3, 1)), latents=np.zeros((2, 1)),
        dt=100.0, input_names=["a"], output_names=["y"]), V, "inputs"),
    ("make_trials-names-length", lambda: neurodis.make_trials(
        inputs=np.zeros((2, 3, 1)), targets=np.zeros((2, 3, 1)), loss_mask=np.ones((2, 3, 1)),
        latents=np.zeros((2, 1)), dt=100.0, input_names=["a", "b"], output_names=["y"]), V, "input_names"),
    ("make_trials-duplicate-output_names", lambda: neurodis.make_trials(
        inputs=np.zeros((2, 3, 1)), targets=np.zeros((2, 3, 2)), loss_mask=np.ones((2, 3, 2)),
        latents=np.zeros((2, 1)), dt=100.0, input_names=["a"], output_names=["y", "y"]), V,
     r"output_names must be unique; got \['y', 'y'\] \(repeated: \['y'\]\)"),
    ("make_trials-dt-zero", lambda: neurodis.make_trials(
        inputs=np.zeros((2, 3, 1)), targets=np.zeros((2, 3, 1)), loss_mask=np.ones((2, 3, 1)),
        latents=np.zeros((2, 1)), dt=0.0, input_names=["a"], output_names=["y"]), V, "dt"),
    ("validate_trials-type", lambda: neurodis.validate_trials(np.zeros(3)), E, "ds|trials"),
    ("validate_trials-missing", lambda: neurodis.validate_trials(TRIALS.drop_vars("targets")), V, "targets"),
    ("save_trials-type", lambda: neurodis.save_trials(np.zeros(3), "x.nc"), E, "ds|trials"),
    ("load_trials-path-int", lambda: neurodis.load_trials(3), E, "path"),
    # ---------------------------------------------------------------- recordings
    ("from_arrays-dims-mismatch", lambda: rec.from_arrays(np.zeros((2, 3)), dims=("trial",)), V, "dims"),
    ("from_arrays-time-without-bins", lambda: rec.from_arrays(np.zeros((2, 3)), dims=("trial", "time")), V,
     "coords must give 'time'"),
    ("from_arrays-nan", lambda: rec.from_arrays(np.full((2, 3), np.nan), dims=("trial", "unit")), V, "finite"),
    ("from_arrays-str", lambda: rec.from_arrays("x", dims=("trial", "unit")), E, "data must be a numeric array"),
    ("from_arrays-bin_ms-zero", lambda: rec.from_arrays(np.zeros((2, 3)), dims=("trial", "unit"), bin_ms=0.0), V,
     "bin_ms"),
    ("bin_spikes-bin-zero", lambda: rec.bin_spikes([[0.1]], [0.0], start_ms=0.0, stop_ms=100.0, bin_ms=0.0), V,
     "bin_ms"),
    ("bin_spikes-stop-before-start", lambda: rec.bin_spikes([[0.1]], [0.0], start_ms=100.0, stop_ms=0.0, bin_ms=10.0),
     V, "stop_ms"),
    ("bin_spikes-huge", lambda: rec.bin_spikes([[0.1]], np.zeros(10**3), start_ms=0.0, stop_ms=1e16, bin_ms=1.0), V,
     "bin_ms=1.0 would need about"),
    ("bin_spikes-events-nan", lambda: rec.bin_spikes([[0.1]], [np.nan], start_ms=0.0, stop_ms=100.0, bin_ms=10.0),
     V, "event_times_s"),
    ("rebin-factor-zero", lambda: rec.rebin(rec.from_arrays(np.zeros((2, 4, 3)), dims=("trial", "time", "unit"),
                                                            bin_ms=10.0), 0), V, "factor"),
    ("rebin-factor-float", lambda: rec.rebin(rec.from_arrays(np.zeros((2, 4, 3)), dims=("trial", "time", "unit"),
                                                             bin_ms=10.0), 1.5), E, "factor"),
    ("trial_average-by-missing", lambda: rec.trial_average(rec.from_arrays(np.zeros((2, 3)), dims=("trial", "unit")),
                                                           "condition"), V, "by"),
    ("validate_recording-type", lambda: rec.validate_recording(np.zeros(3)), E, "recording"),
    ("validate_recording-strings", lambda: rec.validate_recording(
        xr.Dataset({"counts": (("trial", "unit"), np.array([["a", "b"]]))})), E,
     r"recording\['counts'\] must hold numbers"),
    ("save_recording-type", lambda: rec.save_recording(np.zeros(3), "x.nc"), E, "ds|recording"),
    ("load_lip_session-negative", lambda: rec.load_lip_session(-1, path=_lip_folder()), V, "session"),
    ("load_lip_session-str", lambda: rec.load_lip_session("0", path=_lip_folder()), E, "session"),
    ("load_lip_session-bad-csv", lambda: rec.load_lip_session(0, path=_lip_folder("h\nn,a,1,1,1,1,1,1,1,1\n")), V,
     "LIP.csv at .* must hold a header"),
    ("load_lip_session-short-rows", lambda: rec.load_lip_session(0, path=_lip_folder("h\nn,1,2,3\n")), V,
     "LIP.csv at .* could not be parsed"),
    ("load_lip_session-empty-csv", lambda: rec.load_lip_session(0, path=_lip_folder("h\n")), V,
     "LIP.csv at .* got 0 rows"),
    ("load_lip_session-negative-unit", lambda: rec.load_lip_session(
        0, path=_lip_folder("h\nn,-1,1,1,1,1,1,1,1,1\n")), V, "negative NeuronIndex"),
    ("load_nwb-bin-zero", lambda: rec.load_nwb("absent.nwb", start_ms=0.0, stop_ms=10.0, bin_ms=0.0), V, "bin_ms"),
]

_LIP_ROWS = "h\n" + "".join(f"n,{u},1,-1,2,0,1,1,-2,{u + t}\n" for u in (0, 1) for t in range(3))


def _lip_folder(text: str = _LIP_ROWS):
    """A data folder holding a LIP.csv with ``text`` (a fresh folder per call)."""
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="neurodis-lip-"))
    (root / "yates_lip_pulses").mkdir()
    (root / "yates_lip_pulses" / "LIP.csv").write_text(text)
    return root


def test_the_table_is_large_and_its_ids_are_unique():
    assert len(CASES) >= 200 and len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("call", "error", "match"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_malformed_call_raises_a_named_value_or_type_error(call, error, match):
    check_case(call, error, match)
