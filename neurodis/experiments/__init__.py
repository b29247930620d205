"""Experiments: a trained network → trials → its rates → measurements, each once.

The layer between the pure analyses (:mod:`neurodis.analysis`, labelled data in and
out) and the sweeps and the command line, which call into it:

* :class:`TrainedNetwork` (from :mod:`neurodis.training`): the model with its task and
  encoder, as :func:`~neurodis.train` returns it and a run folder loads back;
* :func:`run`: the network's rates and outputs on given trials (the Numba simulator
  for CTRNNs, one frozen torch pass for the rest);
* :func:`generalization`: the out-of-distribution decoder protocol, and
  :func:`encoder_generalization`: its control on the time-averaged encoder output
  (:func:`sharing_trials` lets evaluations that draw the same trials draw them once);
* :func:`compare_with_recording`: the comparison with LIP recordings (network rates
  on the recorded trials, scored by :func:`neurodis.analysis.recording_predictivity`),
  and :func:`network_kernel`: a network's psychophysical kernel on replayed pulses;
* :func:`visited_states`, :func:`attractor`, :func:`geometry`: the noise-free rates,
  the fixed points under zero evidence and the state-space geometry;
* :func:`find_fixed_points`: fixed and slow points of any model's one-step map at a
  constant input, with their Jacobian spectra (:func:`zero_evidence_input` gives a
  task's null input).

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

from neurodis.experiments.accuracy import ACCURACY_TRIALS, accuracy_vs_ideal
from neurodis.experiments.comparison import (
    RecordingComparison,
    compare_session,
    compare_with_recording,
    network_rates,
    untrained_copy,
)
from neurodis.experiments.dynamics import attractor, geometry, visited_states
from neurodis.experiments.fixed_points import find_fixed_points, zero_evidence_input
from neurodis.experiments.ood import (
    DECODERS,
    REPEAT,
    encoder_generalization,
    generalization,
    ood_generalization,
    regression_rates,
    regression_task,
    sharing_trials,
)
from neurodis.experiments.psychophysics import (
    lip_kernels,
    network_choices,
    network_kernel,
)
from neurodis.experiments.running import BACKENDS, run
from neurodis.training import TrainedNetwork

__all__ = [
    "ACCURACY_TRIALS",
    "accuracy_vs_ideal",
    "attractor",
    "BACKENDS",
    "compare_session",
    "compare_with_recording",
    "DECODERS",
    "encoder_generalization",
    "find_fixed_points",
    "generalization",
    "geometry",
    "lip_kernels",
    "network_choices",
    "network_kernel",
    "network_rates",
    "ood_generalization",
    "RecordingComparison",
    "regression_rates",
    "regression_task",
    "REPEAT",
    "run",
    "sharing_trials",
    "TrainedNetwork",
    "untrained_copy",
    "visited_states",
    "zero_evidence_input",
]
