"""TrainedNetwork: what training returns, and its run folder (neurodis.training.network)."""

import pytest
import xarray as xr

import neurodis
from neurodis.experiments import TrainedNetwork
from tests.training.conftest import same_weights, tiny_config, tiny_ctrnn, tiny_encoder, tiny_task


def test_save_writes_a_run_folder_that_loads_back(tmp_path):
    trained = neurodis.train(tiny_task(), tiny_ctrnn(), tiny_config(), encoder=tiny_encoder(), progress=False)
    assert trained.path is None and trained.paths == {}
    saved = trained.save(tmp_path / "run")
    assert saved.path == tmp_path / "run" and sorted(saved.paths) == ["config", "encoder", "history", "model"]
    loaded = TrainedNetwork.load(tmp_path / "run")
    assert same_weights(loaded.model, trained.model) and loaded.encoder == trained.encoder
    assert loaded.config == trained.config and loaded.task.config() == trained.task.config()
    xr.testing.assert_identical(loaded.history, trained.history)


def test_save_needs_a_trained_network(tmp_path):
    with pytest.raises(ValueError, match="save needs a trained network .*; got config=None"):
        TrainedNetwork(tiny_ctrnn(), tiny_task(), None).save(tmp_path)
