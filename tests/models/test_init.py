"""The model names are public on ``neurodis`` but loaded lazily (torch is heavy)."""

from __future__ import annotations

import subprocess
import sys

import neurodis
import neurodis.models


def test_import_neurodis_does_not_import_torch() -> None:
    code = "import sys, neurodis; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_names_resolve_to_the_models_package() -> None:
    for name in ("CTRNN", "GRU", "LSTM", "CausalTransformer", "make_model", "list_models", "save_model", "load_model"):
        assert name in neurodis.__all__
        assert getattr(neurodis, name) is getattr(neurodis.models, name)
