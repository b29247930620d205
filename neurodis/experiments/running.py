"""Run a trained network on trials: the one way the house reads a network's rates.

:func:`run` takes a :class:`~neurodis.training.TrainedNetwork` and a trials Dataset
whose inputs the network takes (sampled with its encoder) and returns the trials with
the network's ``rates (trial, time, unit)`` and ``outputs (trial, time, output)``
added. CTRNNs run in the Numba simulator (:func:`~neurodis.simulate`, float64); every
other architecture runs in one frozen torch pass (``torch.no_grad``, eval mode, the
caller's model left as it was).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_int, check_rng, check_type
from neurodis.training import TrainedNetwork
from neurodis.trials import OUTPUT, TIME, TRIAL, UNIT

__all__ = ["BACKENDS", "run"]

#: How :func:`run` runs a network: ``"auto"`` (the simulator for CTRNNs, torch for the
#: rest), ``"simulator"`` (CTRNNs only) or ``"torch"`` (any model).
BACKENDS = ("auto", "simulator", "torch")


def run(
    network: TrainedNetwork,
    trials: xr.Dataset,
    *,
    noise: bool = True,
    rng: Any = None,
    time: int | None = None,
    backend: str = "auto",
    batch_size: int = 4096,
) -> xr.Dataset:
    """The trials with the network's rates and outputs added.

    Parameters
    ----------
    network : TrainedNetwork
        The network (its ``model`` is run; it is never changed).
    trials : xarray.Dataset
        Trials with ``inputs (trial, time, input)`` the model takes, i.e. sampled with
        the network's encoder (``task.sample(n, rng=..., encoder=network.encoder)``).
        Trials of another task (say regression trials for a classification network)
        are fine: their ``targets`` and ``loss_mask`` describe another readout and are
        dropped when their ``output`` dim does not match the network's.
    noise : bool
        Draw the model's input and recurrent noise (at its configured levels), or run
        it noise-free (zero draws: its expected trajectory given the inputs).
    rng : int, Generator, SeedSequence or None
        Source of the noise draws. The simulator draws from it directly; the torch
        pass seeds a ``torch.Generator`` with one integer drawn from it.
    time : int, optional
        Keep only the state after this step (``rates (trial, unit)``, ``outputs
        (trial, output)``, with ``attrs["time"]`` in ms); by default every step. The
        torch pass selects per batch, so long trials need no memory for every step.
    backend : {"auto", "simulator", "torch"}
        ``"auto"`` runs CTRNNs in the Numba simulator and everything else in torch.
        ``"torch"`` runs any model in its own forward pass: the out-of-distribution
        protocol (:func:`~neurodis.experiments.generalization`) reads every network
        this way, as its stored results were computed.
    batch_size : int
        Trials per torch forward pass (bounds memory).

    Returns
    -------
    xarray.Dataset
        ``trials`` with ``rates`` and ``outputs`` (float64) and a ``unit`` coord; the
        simulator also adds its provenance attrs (see :func:`~neurodis.simulate`).

    Raises
    ------
    TypeError
        If ``network`` is not a TrainedNetwork or ``trials`` not a Dataset.
    ValueError
        If the inputs do not have the model's number of channels, ``time`` is out of
        range, or ``backend="simulator"`` is asked for a model that is not a CTRNN.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> task = make_task("classification", n_tasks=2)
    >>> net = TrainedNetwork(CTRNN(3, 2, n_units=8, seed=0), task, None)
    >>> ran = run(net, task.sample(5, rng=0), noise=False)
    >>> ran["rates"].dims, ran["outputs"].sizes["output"]
    (('trial', 'time', 'unit'), 2)
    >>> run(net, task.sample(5, rng=0), time=3, rng=1)["rates"].dims
    ('trial', 'unit')
    """
    check_type("network", network, TrainedNetwork, "a TrainedNetwork (e.g. TrainedNetwork.load(run_folder))")
    check_type("trials", trials, xr.Dataset, "an xarray.Dataset of trials (Task.sample)")
    check_type("noise", noise, bool, "a bool")
    check_in("backend", backend, BACKENDS)
    model = network.model
    if time is not None:
        time = check_int("time", time, minimum=0, maximum=trials.sizes.get(TIME, 1) - 1)
    arch = getattr(model, "arch", type(model).__name__)
    if backend == "simulator" and arch != "ctrnn":
        raise ValueError(f"backend='simulator' runs CTRNNs only; got a model of arch {arch!r} (use 'torch' or 'auto')")
    n_outputs = getattr(model, "n_outputs", None)
    if OUTPUT in trials.dims and trials.sizes[OUTPUT] != n_outputs:
        trials = trials.drop_vars([name for name, v in trials.variables.items() if OUTPUT in v.dims])
    if backend == "torch" or arch != "ctrnn":
        return _torch_run(model, trials, noise=noise, rng=rng, step=time, batch_size=batch_size)
    from neurodis.simulator import simulate

    result = simulate(model, trials, noise=noise, rng=rng, dtype=np.float64)
    if time is None:
        return result
    return _select(result, time)


def _select(result: xr.Dataset, step: int) -> xr.Dataset:
    """The rates and outputs after one step (``attrs["time"]``: its time in ms)."""
    at = float(result[TIME].values[step])
    for name in ("rates", "outputs"):
        result[name] = result[name].isel({TIME: step}, drop=True).assign_attrs(time=at)
    return result.drop_vars("logits", errors="ignore")


def _torch_run(model: Any, trials: xr.Dataset, *, noise: bool, rng: Any, step: int | None,
               batch_size: int) -> xr.Dataset:
    """One frozen forward pass in chunks; float64 rates and activated outputs."""
    import torch

    batch_size = check_int("batch_size", batch_size, minimum=1)
    inputs_nxtxi = trials["inputs"].transpose(TRIAL, TIME, ...).values
    n_inputs = getattr(model, "n_inputs", inputs_nxtxi.shape[2])
    if inputs_nxtxi.shape[2] != n_inputs:
        raise ValueError(
            f"encoder must give the model's {n_inputs} input channels; the task's trials have "
            f"{inputs_nxtxi.shape[2]} (pass the network's encoder)"
        )
    parameter = next(model.parameters())
    generator = torch.Generator().manual_seed(int(check_rng(rng).integers(2**63)))
    rates, outputs = [], []
    was_training = model.training
    model.eval()  # dropout off; restored below so the caller's model is left as it was
    try:
        with torch.no_grad():
            for start in range(0, inputs_nxtxi.shape[0], batch_size):
                batch = torch.as_tensor(inputs_nxtxi[start:start + batch_size], dtype=parameter.dtype,
                                        device=parameter.device)
                kwargs: dict[str, Any] = {"generator": generator}
                if not noise:  # zero draws: the expected trajectory given the inputs
                    kwargs["input_noise"] = torch.zeros_like(batch)
                    if getattr(model, "recurrent_noise", 0.0) > 0:
                        kwargs["recurrent_noise"] = batch.new_zeros(*batch.shape[:2], model.n_units)
                rates_bxtxn, logits_bxtxo = model(batch, **kwargs)
                activate = getattr(getattr(model, "readout", None), "activate", None)
                outputs_bxtxo = logits_bxtxo if activate is None else activate(logits_bxtxo)
                if step is not None:
                    rates_bxtxn, outputs_bxtxo = rates_bxtxn[:, step], outputs_bxtxo[:, step]
                rates.append(rates_bxtxn.detach().to("cpu", torch.float64).numpy())
                outputs.append(outputs_bxtxo.detach().to("cpu", torch.float64).numpy())
    finally:
        model.train(was_training)
    rates_nx_, outputs_nx_ = np.concatenate(rates), np.concatenate(outputs)
    time_dims, attrs = ((TIME,), {}) if step is None else ((), {"time": float(trials[TIME].values[step])})
    result = trials.assign_coords({UNIT: np.arange(rates_nx_.shape[-1])})
    if OUTPUT not in result.dims:
        result = result.assign_coords({OUTPUT: np.arange(outputs_nx_.shape[-1])})
    return result.assign(rates=((TRIAL, *time_dims, UNIT), rates_nx_, attrs),
                         outputs=((TRIAL, *time_dims, OUTPUT), outputs_nx_, attrs))
