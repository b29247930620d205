"""A run store refuses damaged results and a damaged store.json, naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodis.errors import CorruptFileError
from neurodis.sweeps.grid import run_id
from neurodis.sweeps.store import RunStore
from neurodis.trials import save_dataset
from tests.test_files import flip_bit


def test_a_flipped_bit_in_a_stored_result_is_refused_and_never_collected(tmp_path):
    store = RunStore(tmp_path / "store")
    configs = [{"seed": s} for s in range(2)]
    for config in configs:
        store.prepare(config)
        save_dataset(xr.Dataset({"r2": ((), np.float64(config["seed"]))}), store.result_path(config))
    assert float(store.collect(configs, ["seed"])["r2"].sum()) == 1.0
    flip_bit(store.result_path(configs[1]))
    match = rf"the result of run {run_id(configs[1])} is unusable: .*result\.nc is corrupt: its SHA-256 .*; delete "
    with pytest.raises(CorruptFileError, match=match):
        store.load_result(configs[1])
    with pytest.raises(CorruptFileError, match=match):
        store.collect(configs, ["seed"])


@pytest.mark.parametrize("content", [b"", b'{"schema": 1', b"[1, 2]"])
def test_a_garbled_store_json_is_refused_naming_it(tmp_path, content):
    (tmp_path / "store.json").write_bytes(content)
    with pytest.raises(CorruptFileError, match=r"store\.json (is not valid JSON|must hold a JSON object; got \[1, 2\])"):
        RunStore(tmp_path)
