"""Every data variable neurodis produces for trials carries CF-style ``units`` and ``long_name``."""

import numpy as np
import pytest

from neurodis.simulator import CTRNNWeights, simulate, simulate_autonomous
from neurodis.tasks import Encoder, list_tasks, make_task
from neurodis.trials import VARIABLE_ATTRS, VARIABLE_DIMS


def _assert_cf(ds):
    missing = {name: dict(ds[name].attrs) for name in ds.data_vars
               if not ds[name].attrs.get("units") or not ds[name].attrs.get("long_name")}
    assert missing == {}, f"variables without units/long_name: {missing}"


@pytest.mark.parametrize("name", list_tasks())
def test_task_samples_carry_units_and_long_names(name):
    _assert_cf(make_task(name).sample(2, rng=0))


def test_encoded_samples_carry_them_too():
    task = make_task("flipflop", n_bits=3)
    _assert_cf(task.sample(2, rng=0, encoder=Encoder(n_dims=3, hidden=(8,), n_out=5)))


def test_the_table_covers_the_schema():
    assert set(VARIABLE_DIMS) <= set(VARIABLE_ATTRS)
    assert all(set(attrs) == {"units", "long_name"} for attrs in VARIABLE_ATTRS.values())


def test_simulated_variables_carry_units_and_long_names():
    trials = make_task("classification", n_tasks=2).sample(2, rng=0)
    weights = CTRNNWeights.random(n_inputs=trials.sizes["input"], n_units=4, n_outputs=trials.sizes["output"],
                                  rng=0, dt=trials.attrs["dt"])
    _assert_cf(simulate(weights, trials))
    _assert_cf(simulate(weights, trials, final_only=True))
    _assert_cf(simulate(weights, np.ones((2, 3, trials.sizes["input"]))))
    _assert_cf(simulate_autonomous(weights, np.zeros(trials.sizes["input"]), 3, initial_states=np.zeros((2, 4))))
