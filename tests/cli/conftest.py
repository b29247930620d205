"""Tiny trained runs shared by the command-line tests (trained once per session)."""

import pytest

from neurodis.models import CTRNN
from neurodis.tasks import make_task
from neurodis.training import TrainConfig, train, train_networks


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A single CTRNN of 8 units trained for 4 batches on classification with N=2."""
    folder = tmp_path_factory.mktemp("runs") / "tiny"
    task = make_task("classification", n_tasks=2)
    config = TrainConfig(n_batches=4, batch_size=4, log_every=2, checkpoint_every=4, ideal_trials=0)
    train(task, CTRNN(41, 2, n_units=8, seed=0), config, out=folder, progress=False)
    return folder


@pytest.fixture(scope="session")
def pulses_run(tmp_path_factory):
    """A network of 4 units trained for one batch on the pulses task (for `compare`)."""
    folder = tmp_path_factory.mktemp("runs") / "pulses"
    config = TrainConfig(n_batches=1, batch_size=2, log_every=1, checkpoint_every=1, ideal_trials=0)
    train_networks(make_task("pulses"), config, n_units=4, out=folder, progress=False)
    return folder
