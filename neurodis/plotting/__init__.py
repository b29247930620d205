"""Matplotlib figures: each takes labelled data and ``ax=None`` and returns the figure."""

from neurodis.plotting.generalization import (
    plot_decoder_angle_vs_tasks,
    plot_evaluation_spread,
    plot_r2_vs_tasks,
)
from neurodis.plotting.geometry import (
    plot_amplification,
    plot_eigenvalues,
    plot_explained_variance,
    plot_pc_trajectories,
    plot_tuning_maps,
)
from neurodis.plotting.similarity import plot_kernels, plot_null, plot_rdms

__all__ = [
    "plot_amplification",
    "plot_decoder_angle_vs_tasks",
    "plot_eigenvalues",
    "plot_evaluation_spread",
    "plot_explained_variance",
    "plot_kernels",
    "plot_null",
    "plot_pc_trajectories",
    "plot_r2_vs_tasks",
    "plot_rdms",
    "plot_tuning_maps",
]
