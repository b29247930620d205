"""The neurogym bridge: neurogym envs as neurodis tasks and back, trained and analysed."""

import sys
from typing import ClassVar

import numpy as np
import pytest
import torch
import xarray as xr

neurogym = pytest.importorskip("neurogym", reason="neurogym (the optional 'neurogym' extra) is not installed")

from neurodis._validation import NeurodisWarning
from neurodis.analysis import ccgp
from neurodis.experiments import attractor, run, visited_states
from neurodis.tasks import from_neurogym, make_task, to_neurogym
from neurodis.tasks.neurogym import ENV_ID, NeurogymTask
from neurodis.training import TrainConfig, TrainedNetwork, make_network, train

# gymnasium warns that neurogym's env metadata lacks `render_modes` whenever neurogym.make runs
pytestmark = pytest.mark.filterwarnings("ignore:.*render_modes:UserWarning")

PDM = "PerceptualDecisionMaking-v0"
TOY = f"{__name__}:Toy"


class Toy(neurogym.core.TrialEnv):
    """A small env whose trial ``i`` (of a fresh env) lasts ``3 + i`` steps when ``grow``.

    Periods ``cue`` (2 + i steps) and ``go`` (1 step); the stimulus says the side
    (±0.5 plus noise) and the ground truth is ``1 + side`` on the go step. ``flaw`` breaks
    it in one way: ``"image"`` (2-D observations), ``"multi"`` (MultiDiscrete actions),
    ``"no_gt"``, ``"bad_gt"`` (an action out of range), ``"unseeded"`` (noise from a
    generator seeded at construction), ``"varying_info"`` (``side`` left out of the info
    from the third trial on).
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, dt=10, grow=True, flaw=None):
        super().__init__(dt=dt)
        self.grow, self.flaw = grow, flaw
        self.timing = {"cue": 2 * dt, "go": dt}
        shape = (2, 2) if flaw == "image" else (2,)
        self.observation_space = neurogym.spaces.Box(-np.inf, np.inf, shape=shape, name={"fixation": 0, "stimulus": [1]})
        self.action_space = (neurogym.spaces.MultiDiscrete([3, 3]) if flaw == "multi"
                             else neurogym.spaces.Discrete(3, name={"fixation": 0, "choice": [1, 2]}))
        self.private = np.random.default_rng()  # drawn from only by the "unseeded" flaw

    def _new_trial(self, **kwargs):
        side = int(self.rng.randint(2))
        self.add_period("cue", duration=self.dt * (2 + (self.num_tr if self.grow else 0)))
        self.add_period("go", duration=self.dt, after="cue")
        self.add_ob(1.0, "cue", where="fixation")
        noise = self.private.normal() if self.flaw == "unseeded" else self.rng.randn()
        self.add_ob(side - 0.5 + 0.1 * noise, "cue", where="stimulus")
        if self.flaw != "no_gt":
            self.set_groundtruth(7 if self.flaw == "bad_gt" else 1 + side, period="go")
        info = {"side": side, "label": "right" if side else "left", "trial": self.num_tr, "stim": np.zeros(2)}
        if self.flaw == "varying_info" and self.num_tr >= 2:
            del info["side"]
        return info

    def _step(self, action):
        return self.ob_now, 0.0, False, False, {"new_trial": False}


# ------------------------------------------------------------------------------------ from neurogym
def test_trials_are_the_envs_own_trials_under_the_drawn_seed():
    trials = from_neurogym(PDM).sample(6, rng=5)
    # the documented protocol, replayed with neurogym alone: one draw from the Generator seeds the env
    env = neurogym.make(PDM).unwrapped
    env.seed(int(np.random.default_rng(5).integers(2**32)))
    for i in range(6):
        info = env.new_trial()
        np.testing.assert_array_equal(trials["inputs"].values[i], env.ob)
        np.testing.assert_array_equal(trials["targets"].values[i], np.eye(3)[env.gt])
        assert trials["ground_truth"].values[i] == info["ground_truth"] and trials["coh"].values[i] == info["coh"]
        np.testing.assert_array_equal(trials["latents"].values[i], [info["ground_truth"], info["coh"]])
        decision = np.flatnonzero(trials["period"].values[i] == "decision")
        np.testing.assert_array_equal(decision, np.arange(env.start_ind["decision"], env.end_ind["decision"]))
        assert trials["decision_start"].values[i] == env.start_t["decision"]
    assert trials.attrs["neurogym_version"] == neurogym.__version__


def test_pdm_channels_and_readout_follow_the_spaces():
    task = from_neurogym(PDM)
    assert task.input_names == ["fixation", "stimulus_0", "stimulus_1"]
    assert task.output_names == ["fixation", "choice_0", "choice_1"]
    assert task.categorical and task.readout == "sigmoid" and task.dt == 100.0
    assert task.periods == ["fixation", "stimulus", "delay", "decision"]
    assert make_network(task, n_units=4).readout.kind == "sigmoid"


def test_a_sample_does_not_depend_on_earlier_samples():
    task = from_neurogym(TOY)
    first = task.sample(3, rng=9)
    task.sample(5, rng=1)
    xr.testing.assert_identical(task.sample(3, rng=9), first)


def test_trials_are_padded_with_a_zero_loss_mask():
    trials = from_neurogym(TOY).sample(4, rng=0)
    lengths = np.arange(4) + 3  # trial i of a fresh Toy lasts 3 + i steps
    assert trials.sizes["time"] == lengths.max()
    real = np.arange(trials.sizes["time"])[None, :] < lengths[:, None]
    np.testing.assert_array_equal(trials["loss_mask"].values, np.repeat(real[:, :, None], 3, axis=2).astype(float))
    assert not trials["inputs"].values[~real].any() and not trials["targets"].values[~real].any()
    np.testing.assert_array_equal(trials["period"].values == "", ~real)
    np.testing.assert_array_equal(np.flatnonzero(trials["period"].values[2] == "go"), [lengths[2] - 1])
    np.testing.assert_array_equal(trials["go_end"].values, lengths * 10.0)


def test_n_steps_fixes_the_length():
    task = from_neurogym(TOY, n_steps=8)
    trials = task.sample(3, rng=0)
    assert trials.sizes["time"] == 8 and task.steps_per_trial == 8
    np.testing.assert_array_equal(trials["loss_mask"].values[:, :, 0].sum(axis=1), [3, 4, 5])


def test_trial_info_becomes_coords_and_numeric_info_latents():
    task = from_neurogym(TOY, grow=False)
    trials = task.sample(5, rng=2)
    assert task.latent_names == ["side", "trial"]
    np.testing.assert_array_equal(trials["latents"].sel(latent="side").values, trials["side"].values)
    np.testing.assert_array_equal(trials["label"].values, np.where(trials["side"].values == 1, "right", "left"))
    np.testing.assert_array_equal(trials["info_trial"].values, np.arange(5))  # "trial" is the dim's name
    assert "stim" not in trials.coords  # arrays in the info are left out
    choice = trials["targets"].isel(time=-1).argmax("output").values
    np.testing.assert_array_equal(choice, 1 + trials["side"].values)


def test_an_env_neurogym_made_is_named_by_its_spec_and_left_untouched():
    env = neurogym.make(PDM, dt=50)
    task = from_neurogym(env)
    assert (task.env, task.env_kwargs, task.dt) == (PDM, {"dt": 50}, 50.0)
    env.unwrapped.seed(0)
    state = env.unwrapped.rng.get_state()[1].copy()
    task.sample(4, rng=0)
    np.testing.assert_array_equal(env.unwrapped.rng.get_state()[1], state)  # the caller's env is untouched


def test_an_instance_its_config_does_not_rebuild_warns():
    with pytest.warns(NeurodisWarning, match=r"env \(Toy\) is not rebuilt by its config \(env=.tests.tasks.test_neurogym:Toy., env_kwargs={}\)"):
        task = from_neurogym(Toy(dt=20))
    assert task.dt == 20.0  # it samples from the instance
    assert from_neurogym(Toy()).env == TOY  # a class built with its defaults is rebuilt


@pytest.mark.filterwarnings("ignore:.*to get variables from other wrappers:UserWarning")  # neurogym's own wrapper
def test_a_wrapped_env_is_sampled_through_its_wrapper():
    wrapped = neurogym.wrappers.RandomGroundTruth(neurogym.make(PDM).unwrapped, p=[0.9, 0.1])
    with pytest.warns(NeurodisWarning, match=r"env \(PerceptualDecisionMaking\) is not rebuilt by its config"):
        task = from_neurogym(wrapped)
    side = task.sample(400, rng=0)["ground_truth"].values
    assert 0.05 < side.mean() < 0.15  # P(ground truth 1) = 0.1 (binomial sd 0.015)
    xr.testing.assert_identical(task.sample(5, rng=1), task.sample(5, rng=1))


def test_continuous_actions_give_the_gt_and_a_linear_readout():
    task = from_neurogym("ReachingDelayResponse-v0")
    trials = task.sample(3, rng=0)
    assert not task.categorical and task.readout == "linear" and task.output_names == ["action_0", "action_1"]
    env = neurogym.make("ReachingDelayResponse-v0").unwrapped
    env.seed(int(np.random.default_rng(0).integers(2**32)))
    env.new_trial()
    np.testing.assert_array_equal(trials["targets"].values[0, :env.gt.shape[0]], env.gt)


# ------------------------------------------------------------------------------------ to neurogym
def test_round_trip_gives_identical_trials():
    task = from_neurogym(PDM, n_steps=25)
    back = from_neurogym(to_neurogym(task), n_steps=25)
    assert back == task
    xr.testing.assert_identical(back.sample(8, rng=3), task.sample(8, rng=3))


def test_a_neurodis_task_as_an_env_draws_the_tasks_trials():
    task = make_task("classification", n_tasks=3)
    env = to_neurogym(task)
    assert isinstance(env, neurogym.core.TrialEnv) and env.spec.id == ENV_ID
    env.seed(4)
    infos = [env.new_trial() for _ in range(2)]
    # the documented chain: one draw from the env's rng seeds a Generator per trial
    seeds = np.random.RandomState(4).randint(2**32, size=2, dtype=np.int64)
    batch = task.sample_arrays(1, np.random.default_rng(int(seeds[1])))
    np.testing.assert_array_equal(env.ob, batch.inputs[0])
    np.testing.assert_array_equal(env.gt, batch.targets[0])
    np.testing.assert_array_equal(env.loss_mask, batch.loss_mask[0])
    assert infos[1] == {"x0": batch.latents[0, 0], "x1": batch.latents[0, 1],
                        "orthant": batch.trial_coords["orthant"][0], "quadrant": batch.trial_coords["quadrant"][0]}
    assert env.timing == {"fixation": 100.0, "stimulus": 2000.0, "delay": 0.0, "decision": 100.0}


def test_a_neurodis_env_round_trips_through_from_neurogym():
    task = make_task("flipflop", n_bits=2, duration=100.0)
    back = from_neurogym(to_neurogym(task))
    assert (back.env, back.env_kwargs["task"]) == (ENV_ID, task.config())
    assert back.periods == ["trial"] and back.input_names == task.input_names
    trials = back.sample(3, rng=6)
    seed = int(np.random.default_rng(6).integers(2**32))
    seeds = np.random.RandomState(seed).randint(2**32, size=3, dtype=np.int64)
    expected = [task.sample_arrays(1, np.random.default_rng(int(s))) for s in seeds]
    np.testing.assert_array_equal(trials["inputs"].values, np.concatenate([b.inputs for b in expected]))
    np.testing.assert_array_equal(trials["targets"].values, np.concatenate([b.targets for b in expected]))


def test_neurogym_make_rebuilds_a_neurodis_env():
    task = make_task("flipflop", n_bits=2, duration=100.0)
    made, direct = neurogym.make(ENV_ID, task=task.config()), to_neurogym(task)
    for env in (made.unwrapped, direct):
        env.seed(2)
        env.new_trial()
    np.testing.assert_array_equal(made.unwrapped.ob, direct.ob)


def test_a_neurodis_env_rewards_minus_the_weighted_squared_error():
    env = to_neurogym(make_task("classification", n_tasks=2, loss_mask="decision"))
    env.seed(1)
    env.reset()  # draws a trial and takes its first step
    gt, mask, offset = env.gt.copy(), env.loss_mask.copy(), np.array([0.5, -1.0])
    rewards = [env.step(gt[step] + offset)[1] for step in range(1, gt.shape[0])]
    np.testing.assert_allclose(rewards, -(mask[1:] * offset**2).sum(axis=1))
    assert rewards[-1] == -1.25 and not any(rewards[:-1])  # only the decision step weighs


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, error, match", [
    ({"env": 3}, TypeError, "env must be a neurogym env id"),
    ({"env_kwargs": [1]}, TypeError, "env_kwargs must be a mapping of keyword arguments"),
    ({"env_kwargs": {"dt": object()}}, TypeError, "env_kwargs must be JSON-serialisable"),
    ({"env_kwargs": {"n_choices": 3}}, TypeError, "env_kwargs must be keyword arguments of PerceptualDecisionMaking"),
    ({"n_steps": 2.5}, TypeError, "n_steps must be an integer"),
    ({"n_steps": 0}, ValueError, r"n_steps must be an integer >= 1; got 0"),
    ({"n_steps": 21}, ValueError, r"n_steps must be at least the length of env's trials \(22 steps\); got 21"),
    ({"env": "NoSuchTask-v0"}, ValueError, "env must be a registered neurogym env id .*; got 'NoSuchTask-v0'"),
    ({"env": "neurodis.nope:Env"}, ValueError, "env must be a neurogym env id or an importable 'module:Class'"),
    ({"env": "numpy:ndarray", "env_kwargs": {"shape": 2}}, TypeError, "env must be a neurogym TrialEnv"),
])
def test_bad_task_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        NeurogymTask(**kwargs)


@pytest.mark.parametrize("flaw, match", [
    ("image", r"observation_space must be a 1-D Box"),
    ("multi", r"action_space must be Discrete \(categorical gt\) or a 1-D Box"),
    ("no_gt", r"env must set a ground truth \(set_groundtruth\) in new_trial"),
    ("unseeded", r"env must give the same trials after env.seed\(s\); tests.tasks.test_neurogym:Toy does not"),
])
def test_envs_neurodis_cannot_use_are_refused(flaw, match):
    with pytest.raises(ValueError, match=match):
        from_neurogym(TOY, flaw=flaw)


@pytest.mark.parametrize("kwargs, match", [
    ({"flaw": "bad_gt"}, r"env's gt must be actions in \[0, 3\); got \[0, 7\]"),
    ({"flaw": "varying_info"}, r"env's trial info must hold the scalar entries of its first trials .*; trial 2 has"),
    ({"n_steps": 4}, r"n_steps must be at least the length of env's trials; got n_steps=4, but a trial .* lasts 5"),
])
def test_trials_neurodis_cannot_use_are_refused(kwargs, match):
    task = from_neurogym(TOY, **kwargs)  # the first trials are fine
    with pytest.raises(ValueError, match=match):
        task.sample(3, rng=0)


def test_sample_arrays_wants_a_generator():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator; got int 0"):
        from_neurogym(TOY).sample_arrays(2, 0)


def test_bad_bridge_arguments_raise():
    with pytest.raises(TypeError, match="env must be a neurogym TrialEnv .* or an env id; got int 3"):
        from_neurogym(3)
    with pytest.raises(TypeError, match=r"env_kwargs go with an env id; got an env \(Toy\) and \['dt'\]"):
        from_neurogym(Toy(), dt=5)
    with pytest.raises(TypeError, match="task must be a neurodis Task or its config; got int 3"):
        to_neurogym(3)
    with pytest.raises(TypeError, match=r"new_trial of a neurodis task takes no trial parameters; got \['side'\]"):
        to_neurogym(make_task("flipflop")).new_trial(side=1)
    with pytest.raises(ValueError, match=r"task.dt must place every period on neurogym's step grid; dt=0.7 ms"):
        to_neurogym(make_task("flipflop", dt=0.7, duration=2.1))


def test_missing_neurogym_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "neurogym", None)  # as on a machine without it
    with pytest.raises(ImportError, match=r"pip install neurodis\[neurogym\]"):
        from_neurogym(PDM)


# ------------------------------------------------------------------------------------ train and analyse
def test_a_network_saved_with_a_neurogym_task_loads_it_back(tmp_path):
    task = from_neurogym(PDM, dt=50)
    model = make_network(task, n_units=4, seed=0)
    config = TrainConfig(n_batches=2, batch_size=4, encoder="none", log_every=1, checkpoint_every=2)
    net = train(task, model, config, out=tmp_path / "run", progress=False)
    loaded = TrainedNetwork.load(net.path)
    assert loaded.task == task and loaded.encoder is None and loaded.model.readout.kind == "sigmoid"
    xr.testing.assert_identical(loaded.task.sample(3, rng=0), task.sample(3, rng=0))


@pytest.fixture(scope="module")
def network():
    """A 32-unit CTRNN trained on PerceptualDecisionMaking-v0 (about 15-30 s on one core)."""
    torch.set_num_threads(1)
    task = from_neurogym(PDM)
    model = make_network(task, n_units=32, tau=200.0, activation="tanh", seed=0)
    config = TrainConfig(n_batches=2000, batch_size=32, lr=1e-2, encoder="none", seed=0, log_every=500,
                         checkpoint_every=2000)
    return train(task, model, config, progress=False)


@pytest.fixture(scope="module")
def held_out(network):
    return run(network, network.task.sample(1000, rng=12345), rng=1)


@pytest.mark.slow
def test_trained_network_chooses_correctly_on_held_out_trials(network, held_out):
    # the chosen action at every decision step against the env's own action for the trial's ground truth
    choices = neurogym.make(PDM).unwrapped.action_space.name["choice"]
    decision = held_out["period"].values == "decision"
    chosen = held_out["outputs"].values.argmax(axis=2)
    expected = np.broadcast_to(np.asarray(choices)[held_out["ground_truth"].values][:, None], chosen.shape)
    accuracy = (chosen[decision] == expected[decision]).mean()
    assert accuracy > 0.8, accuracy
    # no network beats the ideal observer on its own inputs: the sign of the summed evidence
    stimulus = held_out["inputs"].where(held_out["period"] == "stimulus", 0.0).sum("time")
    evidence = (stimulus.sel(input="stimulus_1") - stimulus.sel(input="stimulus_0")).values
    ideal = ((evidence > 0) == (held_out["ground_truth"].values == 1)).mean()
    assert accuracy <= ideal + 0.02, (accuracy, ideal)
    zero = held_out["coh"].values == 0  # no evidence: chance is all any observer can do
    assert (chosen[decision & ~zero[:, None]] == expected[decision & ~zero[:, None]]).mean() > accuracy


@pytest.mark.slow
def test_fixed_points_of_the_trained_network(network):
    trials = network.task.sample(64, rng=3)
    found = attractor(network, visited_states(network, trials), n_inits=32, rng=0)
    assert found["states"].dims == ("fixed_point", "unit") and found.attrs["n_inits"] == 32
    exact = found.where(found["kind"] == "exact", drop=True)
    assert exact.sizes["fixed_point"] >= 1
    # the fixation input alone (no stimulus) holds the network where it says "fixate"
    assert list(found["inputs"]["input"].values) == network.task.input_names
    np.testing.assert_array_equal(found["inputs"].values, [1.0, 0.0, 0.0])
    stable = exact.where(exact["stable_discrete"], drop=True)
    assert (stable["outputs"].argmax("output").values == 0).all() and stable.sizes["fixed_point"] >= 1


@pytest.mark.slow
def test_choice_is_abstract_across_coherences(network, held_out):
    last = held_out["stimulus_end"].values[0] - network.task.dt  # the last stimulus step, in ms
    evidence = held_out.where(held_out["coh"] > 0, drop=True)
    rates = evidence["rates"].sel(time=last)
    conditions = np.char.add(evidence["ground_truth"].values.astype(str), evidence["coh"].values.astype(str))
    result = ccgp(rates, {"choice": evidence["ground_truth"].values == 1}, conditions=conditions, n_null=20, rng=0)
    assert list(result["dichotomy"].values) == ["choice"]
    assert float(result["ccgp"].sel(dichotomy="choice")) > 0.8
    assert float(result["p_value"].sel(dichotomy="choice")) < 0.1
