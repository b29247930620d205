"""Experiments: a trained network → trials → its states → measurements, each once.

The layer between the pure analyses (:mod:`neurodis.analysis`, labelled data in and
out) and the sweeps and the command line, which call into it:

* :class:`TrainedNetwork` (from :mod:`neurodis.training`): the model with its task and
  encoder, as :func:`~neurodis.train` returns it and a run folder loads back;
* :func:`run`: the network's states and outputs on given trials (the Numba simulator
  for CTRNNs, one frozen torch pass for the rest);
* :func:`generalization`: the out-of-distribution decoder protocol;
* :func:`compare_with_recording`: the comparison with LIP recordings (network states
  on the recorded trials, scored by :func:`neurodis.analysis.recording_predictivity`),
  and :func:`network_kernel`: a network's psychophysical kernel on replayed pulses;
* :func:`visited_states`, :func:`attractor`, :func:`geometry`: the noise-free states,
  the fixed points under zero evidence and the state-space geometry.

Examples
--------
>>> from neurodis.experiments import TrainedNetwork, run
>>> from neurodis.models import CTRNN
>>> from neurodis.tasks import make_task
>>> task = make_task("classification", n_tasks=2)
>>> net = TrainedNetwork(CTRNN(3, 2, n_units=8, seed=0), task, None)
>>> run(net, task.sample(4, rng=0), rng=1)["rates"].sizes["unit"]
8
"""

from neurodis.experiments.comparison import (
    RecordingComparison,
    compare_session,
    compare_with_recording,
    network_states,
    untrained_copy,
)
from neurodis.experiments.dynamics import attractor, geometry, visited_states
from neurodis.experiments.ood import (
    DECODERS,
    generalization,
    ood_generalization,
    regression_states,
    regression_task,
)
from neurodis.experiments.psychophysics import lip_kernels, network_choices, network_kernel
from neurodis.experiments.states import BACKENDS, run
from neurodis.training import TrainedNetwork

__all__ = [
    "BACKENDS",
    "DECODERS",
    "RecordingComparison",
    "TrainedNetwork",
    "attractor",
    "compare_session",
    "compare_with_recording",
    "generalization",
    "geometry",
    "lip_kernels",
    "network_choices",
    "network_kernel",
    "network_states",
    "ood_generalization",
    "regression_states",
    "regression_task",
    "run",
    "untrained_copy",
    "visited_states",
]
