"""Evaluations inside neurodis.experiments.sharing_trials draw each regression trial set once."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.experiments import (
    TrainedNetwork,
    encoder_generalization,
    generalization,
    ood,
    regression_rates,
    regression_task,
    sharing_trials,
)
from neurodis.models import make_model
from neurodis.tasks.encoders import Encoder

TIMING = {"stimulus": 500.0}
PROTOCOL = {"n_trials": 300, "decoders": ["lstsq", "ridge"], "n_repeats": 2}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _network(n_tasks, encoder, seed=0, sigma=0.2):
    task = neurodis.make_task("classification", n_tasks=n_tasks, timing=TIMING, sigma=sigma)
    model = make_model("ctrnn", n_inputs=1 + encoder.n_out, n_outputs=n_tasks, n_units=6, seed=seed,
                       recurrent_noise=0.1)
    return TrainedNetwork(model, task, encoder)


@pytest.fixture
def draws(monkeypatch):
    """How many regression trial sets were drawn (the regression task's ``sample`` calls)."""
    count = {"n": 0}
    cls = type(regression_task(neurodis.make_task("classification", n_tasks=2)))
    sample = cls.sample

    def counted(self, *args, **kwargs):
        count["n"] += 1
        return sample(self, *args, **kwargs)

    monkeypatch.setattr(cls, "sample", counted)
    return count


def _evaluate(networks, rng):
    """Each network's generalization, then the encoder control of the first."""
    results = [generalization(net, rng=rng, **PROTOCOL) for net in networks]
    return [*results, encoder_generalization(networks[0], rng=rng, **PROTOCOL)]


def test_networks_of_one_seed_and_their_control_share_the_trials_and_get_the_same_numbers(draws):
    encoder = Encoder(hidden=(16,), n_out=8, seed=3)
    # the networks of one seed differ in their number of tasks (and here their weights)
    networks = [_network(2, encoder, seed=0), _network(5, Encoder(hidden=(16,), n_out=8, seed=3), seed=1)]
    plain = _evaluate(networks, rng=11)
    assert draws["n"] == 6  # two repeats for each of the three evaluations
    with sharing_trials(max_sets=2):
        shared = _evaluate(networks, rng=11)
    assert draws["n"] == 6 + 2
    for a, b in zip(plain, shared, strict=True):
        assert a.identical(b)
    # the block is closed: nothing is kept
    assert ood._TRIAL_STORE.get() is None
    generalization(networks[0], rng=11, **PROTOCOL)
    assert draws["n"] == 8 + 2


def test_a_store_smaller_than_the_repeats_still_gives_the_same_numbers(draws):
    networks = [_network(3, Encoder(hidden=(16,), n_out=8, seed=3))]
    plain = _evaluate(networks, rng=np.random.SeedSequence(5))
    with sharing_trials(max_sets=1):  # repeat 1 pushes repeat 0 out before the control asks for it
        shared = _evaluate(networks, rng=np.random.SeedSequence(5))
    assert draws["n"] == 4 + 4
    for a, b in zip(plain, shared, strict=True):
        assert a.identical(b)


def test_other_encoders_streams_and_trial_counts_draw_their_own_trials(draws):
    network = _network(3, Encoder(hidden=(16,), n_out=8, seed=3))
    other_weights = _network(3, Encoder(hidden=(16,), n_out=8, seed=4))
    with sharing_trials(max_sets=8):
        reference = generalization(network, rng=2, **PROTOCOL)
        assert draws["n"] == 2
        other_encoder = generalization(other_weights, rng=2, **PROTOCOL)
        other_stream = generalization(network, rng=3, **PROTOCOL)
        more_trials = generalization(network, rng=2, **{**PROTOCOL, "n_trials": 301})
        assert draws["n"] == 8
        # a Generator is consumed as it draws: never shared
        generator = [generalization(network, rng=np.random.default_rng(2), **PROTOCOL) for _ in range(2)]
        assert draws["n"] == 12
    assert not reference.identical(other_encoder) and not reference.identical(other_stream)
    assert more_trials.sizes["trial"] == 301
    assert generator[0].identical(generalization(network, rng=np.random.default_rng(2), **PROTOCOL))


def test_what_the_trials_depend_on_is_all_in_the_key(draws):
    encoder = Encoder(hidden=(16,), n_out=8, seed=3)
    edited = encoder.to_dict()
    edited["weights"][0][0][0] += 0.1  # the same config, other weights
    networks = {"reference": _network(3, encoder), "weights": _network(3, Encoder.from_dict(edited)),
                "task": _network(3, encoder, sigma=0.3)}
    plain = {name: regression_rates(net, n_trials=200, rng=np.random.SeedSequence(4))[0]
             for name, net in networks.items()}
    with sharing_trials(max_sets=8):
        shared = {name: regression_rates(net, n_trials=200, rng=np.random.SeedSequence(4))[0]
                  for name, net in networks.items()}
    assert draws["n"] == 3 + 3
    for name in networks:
        assert shared[name].identical(plain[name]), name
    assert not plain["weights"].identical(plain["reference"]) and not plain["task"].identical(plain["reference"])


def test_one_seed_sequence_used_twice_draws_twice_as_without_the_block(draws):
    network = _network(3, Encoder(hidden=(16,), n_out=8, seed=3))
    stream = np.random.SeedSequence(9)
    plain = [regression_rates(network, n_trials=200, rng=stream)[0] for _ in range(2)]
    stream = np.random.SeedSequence(9)
    with sharing_trials(max_sets=8):
        shared = [regression_rates(network, n_trials=200, rng=stream)[0] for _ in range(2)]
    assert draws["n"] == 2 + 2 and not plain[0].identical(plain[1])
    assert all(a.identical(b) for a, b in zip(plain, shared, strict=True))


def test_long_entropy_and_numpy_spawn_keys_are_told_apart():
    network = _network(3, Encoder(hidden=(16,), n_out=8, seed=3))
    entropy = np.arange(2000)
    other = entropy.copy()
    other[1000] += 1  # numpy prints both arrays alike, with "..." in the middle

    def streams():  # fresh ones: drawing spawns children
        return [np.random.SeedSequence(entropy), np.random.SeedSequence(other),
                np.random.SeedSequence(0, spawn_key=(np.int64(3),))]

    plain = [regression_rates(network, n_trials=200, rng=s)[0] for s in streams()]
    with sharing_trials(max_sets=8):
        shared = [regression_rates(network, n_trials=200, rng=s)[0] for s in streams()]
    assert all(a.identical(b) for a, b in zip(plain, shared, strict=True))
    assert not plain[0].identical(plain[1])


@pytest.mark.parametrize("max_sets", [0, -1, 1.5, "4"])
def test_sharing_trials_rejects_a_bad_store_size(max_sets):
    with pytest.raises((ValueError, TypeError), match="max_sets"), sharing_trials(max_sets=max_sets):
        pass
