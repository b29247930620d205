"""The GPU path: ensembles of every architecture train on CUDA as on the CPU, and are evaluated.

Skipped on machines without a CUDA GPU (``torch.cuda.is_available()``); the CPU-only
behaviour of ``device="cuda"`` (a clear refusal) is tested in ``test_loop.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodis.experiments import generalization
from neurodis.models import make_model
from neurodis.training import train_ensemble
from tests.training.conftest import comparable, tiny_config, tiny_encoder, tiny_task

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

WIDTHS = (2, 4, 3)


def _members(arch: str) -> tuple[list, list, list]:
    """Noise-free members (a CUDA generator draws other numbers than a CPU one)."""
    options = {"n_heads": 2} if arch == "transformer" else {}
    tasks = [tiny_task(n) for n in WIDTHS]
    models = [make_model(arch, n_inputs=5, n_outputs=n, n_units=8, seed=20 + k, **options)
              for k, n in enumerate(WIDTHS)]
    return tasks, models, [tiny_encoder(k) for k in range(len(WIDTHS))]


@pytest.mark.parametrize("arch", ["ctrnn", "lstm", "gru", "transformer"])
def test_an_ensemble_trains_on_cuda_as_on_the_cpu_and_is_evaluated(arch):
    runs = {}
    for device in ("cpu", "cuda"):
        tasks, models, encoders = _members(arch)
        config = tiny_config(n_batches=24, log_every=12, checkpoint_every=24, lr=3e-3, device=device)
        runs[device] = train_ensemble(tasks, models, config, seeds=[7, 3, 5], encoders=encoders, progress=False)
    for cpu, gpu in zip(runs["cpu"], runs["cuda"]):
        assert next(gpu.model.parameters()).device.type == "cuda"
        for (name, a), b in zip(cpu.model.named_parameters(), gpu.model.parameters()):
            torch.testing.assert_close(comparable(name, b.cpu()), comparable(name, a), rtol=1e-3, atol=1e-4,
                                       msg=f"{arch} {name}")
        np.testing.assert_allclose(gpu.history["loss"], cpu.history["loss"], rtol=1e-3)
    # the OOD evaluation runs on the CUDA-trained network (rates on its device, decoders on the CPU)
    scores = {device: generalization(runs[device][0], n_trials=400, decoders=("lstsq", "ridge"), rng=0)
              for device in ("cpu", "cuda")}
    for name in ("r2_paper", "ridge_r2_paper"):
        np.testing.assert_allclose(scores["cuda"][name], scores["cpu"][name], atol=1e-3)
