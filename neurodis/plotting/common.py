"""Figure and axes set-up shared by every plotting module."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from neurodis._validation import check_type
from neurodis.files import atomic_write, check_path

__all__ = ["figure_axes", "save_figure"]


def figure_axes(ax: Any, *, figsize: tuple[float, float] | None = None, **subplot: Any) -> tuple[Figure, Any]:
    """The figure and axes to draw on: ``ax`` when given, else a new figure.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Axes to draw on; ``None`` makes a new figure with one axes.
    figsize : (float, float), optional
        Size of a new figure in inches (default matplotlib's); a new figure of a given
        size uses the constrained layout so its labels fit.
    **subplot
        Keywords for a new axes (e.g. ``projection="3d"``).

    Returns
    -------
    (Figure, Axes)

    Raises
    ------
    TypeError
        If ``ax`` is neither ``None`` nor a matplotlib Axes.

    Examples
    --------
    >>> fig, ax = figure_axes(None)
    >>> figure_axes(ax)[0] is fig
    True
    """
    if ax is None:
        layout = {"figsize": figsize, "constrained_layout": True} if figsize is not None else {}
        return plt.subplots(subplot_kw=subplot or None, **layout)
    check_type("ax", ax, plt.Axes, "a matplotlib Axes")
    return ax.figure, ax


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Write ``figure`` to ``path`` (120 dpi, tight bounding box) atomically and close it.

    Closing matters when a command or a sweep writes many figures: pyplot keeps every
    open figure alive. The write is atomic because two sweeps sharing a results folder
    may write the same figure at once.

    Examples
    --------
    >>> import tempfile
    >>> fig, _ = figure_axes(None)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_figure(fig, Path(folder) / "empty.png").name, plt.fignum_exists(fig.number)
    ('empty.png', False)
    """
    path = check_path("path", path, kind="file")
    # the temporary name has no image suffix, so name the format
    fmt = path.suffix.lstrip(".") or "png"
    try:
        atomic_write(path, lambda tmp: figure.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight"))
    finally:
        plt.close(figure)
    return path
