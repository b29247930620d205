"""Sweeps: typed run configs, grids of them, a content-addressed run store, and a Dask runner."""

from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.grid import canonical_json, expand_grid, run_id
from neurodis.sweeps.runner import group_configs, run_sweep
from neurodis.sweeps.store import RunStore, load_network

__all__ = ["RunConfig", "RunStore", "canonical_json", "expand_grid", "group_configs", "load_network", "run_id", "run_sweep"]
