"""Numba simulator of the CTRNN: the same equations as ``neurodis.models.ctrnn``.

``simulate`` runs a network on a batch of trials and returns the trials Dataset with
rates and outputs; ``simulate_autonomous`` holds an input constant for many steps;
``simulate_arrays`` is the unlabelled fast path; ``CTRNNWeights`` is the numpy parameter
set they all take (``CTRNNWeights.from_model`` reads a torch CTRNN).
"""

from neurodis.simulator.core import (
    SimulationArrays,
    as_weights,
    simulate,
    simulate_arrays,
    simulate_autonomous,
)
from neurodis.simulator.weights import ACTIVATIONS, READOUTS, CTRNNWeights

__all__ = [
    "ACTIVATIONS",
    "READOUTS",
    "CTRNNWeights",
    "SimulationArrays",
    "as_weights",
    "simulate",
    "simulate_arrays",
    "simulate_autonomous",
]
