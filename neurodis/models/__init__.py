"""Torch sequence models sharing one interface.

Every model maps ``inputs (batch, time, input)`` to ``(rates, logits)``: the hidden
rates after each step ``(batch, time, unit)`` and the readout before its nonlinearity
``(batch, time, output)``; ``model.readout.activate(logits)`` gives the outputs. Models
carry ``n_inputs``, ``n_units``, ``n_outputs``, a JSON-able ``config`` and a registry
name ``arch``.

Examples
--------
>>> import torch
>>> from neurodis.models import make_model
>>> net = make_model("lstm", n_inputs=3, n_outputs=2, n_units=8)
>>> rates, logits = net(torch.zeros(1, 5, 3))
>>> tuple(net.readout.activate(logits).shape)
(1, 5, 2)
"""

from neurodis.models.base import SequenceModel, list_models, make_model, register_model
from neurodis.models.ctrnn import CTRNN
from neurodis.models.gated import GRU, LSTM
from neurodis.models.io import load_model, save_model
from neurodis.models.readout import Readout
from neurodis.models.transformer import CausalTransformer

__all__ = [
    "CTRNN",
    "GRU",
    "LSTM",
    "CausalTransformer",
    "Readout",
    "SequenceModel",
    "list_models",
    "load_model",
    "make_model",
    "register_model",
    "save_model",
]
