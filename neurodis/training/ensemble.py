"""K independent networks of one architecture trained at once as one batched model.

The members' weights are stacked along a leading member axis (a CTRNN's
``weight_hh`` becomes ``(K, n, n)``) and run with batched matmuls: CTRNNs through the
fused kernel of :mod:`neurodis.training._kernels`, LSTMs, GRUs and transformers
through the forwards of :mod:`neurodis.training._stacked`. Each member keeps its own
task (the number of tasks may differ: outputs are padded to the widest member and the
padding is masked out of the loss), encoder, data stream and noise (or dropout)
stream, exactly those it would get trained alone with its seed. The loss is the *sum*
of the members' masked mean losses, so each member's gradient is its solo gradient;
Adam is elementwise, so each member's update is its solo update. Member ``k``
therefore follows the trajectory of ``train(tasks[k], models[k], replace(config,
seed=seeds[k]))`` to float tolerance, at a fraction of the cost per network. Between
ensembles on the CPU it is exact: a member trains to the same bits whatever members it is stacked
with, in whatever slot, and however far its readout is padded (the padded readout's bias
gradient is summed per output row, and Adam runs its single-tensor kernel, whose scalar
tail rounds as its vectorised body), wherever each member's tensors fill whole SIMD
loops (units and trials × steps multiples of 32, as in every preset). So a sweep's
results do not depend on how its runs were grouped over workers.

:func:`split_ensemble` turns an ensemble checkpoint into ordinary single-network run
folders (with single-network checkpoints that :func:`~neurodis.training.train` can
resume).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neurodis._validation import check_int, check_type
from neurodis.files import check_path, write_json
from neurodis.models import make_model
from neurodis.models.base import SequenceModel
from neurodis.models.ctrnn import stacked_constraint
from neurodis.tasks.base import Task, make_task
from neurodis.tasks.encoders import Encoder
from neurodis.training._engine import (
    CTRNN_PARAMETERS,
    CTRNNNetwork,
    Engine,
    check_member_model,
    make_member,
)
from neurodis.training._stacked import GatedNetwork, TransformerNetwork, stacked_name
from neurodis.training.checkpoint import (
    CHECKPOINT_NAME,
    decode_encoder,
    load_checkpoint,
    save_checkpoint,
)
from neurodis.training.config import TrainConfig
from neurodis.training.history import History
from neurodis.training.loop import (
    _check_resume,
    _existing_checkpoint,
    check_device,
    checkpoint_meta,
    default_encoder,
    history_attrs,
    resolve_loss,
)
from neurodis.training.network import TrainedNetwork, model_description, write_run

__all__ = ["STACKED_NETWORKS", "StackedModel", "adopt_members", "select_members",
           "split_ensemble", "train_ensemble"]

#: Model config keys that may differ between members (a CTRNN's masks: each member has its own)
_FREE_KEYS = ("seed", "n_outputs", "input_mask", "recurrent_mask", "output_mask")

#: The architectures that stack, with their batched forwards
STACKED_NETWORKS: dict[str, Callable] = {
    "ctrnn": CTRNNNetwork, "lstm": GatedNetwork, "gru": GatedNetwork, "transformer": TransformerNetwork,
}


class StackedModel(nn.Module):
    """The parameters of K networks of one architecture stacked along a leading member axis.

    Parameters
    ----------
    models : sequence of SequenceModel
        Members of one architecture of :data:`STACKED_NETWORKS`, with identical
        configs except ``seed``, ``n_outputs`` and a CTRNN's connectivity masks (each
        member runs with its own); readouts are zero-padded to the widest member.

    Attributes
    ----------
    params : torch.nn.ParameterDict
        The stacked parameters in the members' order, keyed by
        :func:`~neurodis.training._stacked.stacked_name` (``readout.linear.weight``
        becomes ``readout_weight``).

    Raises
    ------
    TypeError
        If a member is not a neurodis model of a stackable architecture.
    ValueError
        If the sequence is empty or members differ in anything but seed and width.

    Examples
    --------
    >>> from neurodis.models import CTRNN, LSTM
    >>> stack = StackedModel([CTRNN(3, 2, n_units=4, seed=0), CTRNN(3, 1, n_units=4, seed=1)])
    >>> tuple(stack.params["weight_hh"].shape), tuple(stack.params["readout_weight"].shape)
    ((2, 4, 4), (2, 2, 4))
    >>> torch.equal(stack.member(1).weight_hh, CTRNN(3, 1, n_units=4, seed=1).weight_hh)
    True
    >>> tuple(StackedModel([LSTM(3, 2, n_units=4, seed=k) for k in range(5)]).params["rnn_weight_hh_l0"].shape)
    (5, 16, 4)
    """

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("models must hold at least one network; got an empty sequence")
        for k, model in enumerate(models):
            if not isinstance(model, SequenceModel) or model.arch not in STACKED_NETWORKS:
                raise TypeError(f"models[{k}] must be a neurodis model of one of {sorted(STACKED_NETWORKS)}; "
                                f"got {type(model).__name__}")
        self.arch = models[0].arch
        for k, model in enumerate(models):
            if model.arch != self.arch:
                raise ValueError(f"models[{k}].arch must equal models[0]'s {self.arch!r}; got {model.arch!r}")
        names = [name for name, _ in models[0].named_parameters()]
        if self.arch == "ctrnn" and names != list(CTRNN_PARAMETERS):
            raise TypeError(f"models must be plain CTRNNs with parameters {list(CTRNN_PARAMETERS)} (the fused "
                            f"kernel's); got {names}")
        first = models[0].config
        for k, model in enumerate(models[1:], start=1):
            # over both key sets: options at their defaults are absent from a config
            for key in [*first, *(key for key in model.config if key not in first)]:
                if key in _FREE_KEYS:
                    continue
                value, other = first.get(key, "<default>"), model.config.get(key, "<default>")
                if other != value:
                    raise ValueError(f"models[{k}].config[{key!r}] must equal models[0]'s {value!r} "
                                     f"(members may differ only in {list(_FREE_KEYS)}); got {other!r}")
        self.configs = [dict(model.config) for model in models]
        self._constrain = None
        if self.arch == "ctrnn":  # each member's own signs and masks, on the stacked (padded) weights
            matrices = {"weight_ih": "weight_ih", "weight_hh": "weight_hh", "readout_weight": "readout.linear.weight"}
            shapes = {key: (max(m.get_parameter(name).shape[0] for m in models),
                            models[0].get_parameter(name).shape[1]) for key, name in matrices.items()}
            self._constrain = stacked_constraint(models, shapes)
        n_out = max(model.n_outputs for model in models)
        stacked = []  # a list keeps the models' parameter order, which Adam's state follows
        for name in names:
            tensors = [model.get_parameter(name).detach() for model in models]
            if name.startswith("readout."):  # zero rows for the padded outputs
                tensors = [torch.cat([t, t.new_zeros((n_out - t.shape[0], *t.shape[1:]))]) for t in tensors]
            trainable = models[0].get_parameter(name).requires_grad
            stacked.append((stacked_name(name), nn.Parameter(torch.stack(tensors).clone(), requires_grad=trainable)))
        self.params = nn.ParameterDict(stacked)

    @property
    def n_members(self) -> int:
        """Number of stacked networks."""
        return len(self.configs)

    def network(self, template: nn.Module) -> Callable:
        """The batched forward ``(inputs (K, time, batch, ·), generators) -> logits``."""
        if self._constrain is not None:
            return CTRNNNetwork(lambda: dict(self.params), template, constrain=self._constrain)
        return STACKED_NETWORKS[self.arch](lambda: dict(self.params), template)

    def member(self, k: int) -> nn.Module:
        """Member ``k`` as an ordinary model (on the CPU, a copy of the weights)."""
        k = check_int("k", k, minimum=0, maximum=self.n_members - 1)
        model = make_model(self.arch, **self.configs[k])
        with torch.no_grad():
            for name, target in model.named_parameters():
                target.copy_(self.params[stacked_name(name)][k, : target.shape[0]].cpu())
        return model


def train_ensemble(
    tasks: Task | Sequence[Task],
    models: Sequence[nn.Module],
    config: TrainConfig,
    *,
    seeds: Sequence[int] | None = None,
    encoders: Sequence[Encoder | None] | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[int, np.ndarray], None] | None = None,
) -> list[TrainedNetwork]:
    """Train K networks at once; member k matches its solo run with seed ``seeds[k]``.

    Parameters
    ----------
    tasks : Task or sequence of K Tasks
        One task for all members, or one each (same inputs and number of steps;
        the number of outputs may differ).
    models : sequence of K SequenceModel
        Members (copied, never changed) of one architecture of
        :data:`STACKED_NETWORKS`; identical configs except seed, width and masks.
    config : TrainConfig
        Shared hyperparameters; member k runs with ``replace(config, seed=seeds[k])``.
    seeds : sequence of K int, optional
        Run seeds; default ``config.seed + k``. Members with equal tasks need distinct
        seeds (they would be copies); members with different tasks may share one.
    encoders : sequence of K Encoder or None, optional
        Each member's frozen encoder; default :func:`default_encoder` per member seed.
    out : path-like, optional
        Ensemble folder: ``checkpoint.pt`` during training; at the end
        ``ensemble.json`` and one single-network run folder per member
        (``member_000`` …, see :func:`split_ensemble`).
    resume : bool
        Continue from ``out/checkpoint.pt``.
    progress : bool
        Show a progress bar.
    callback : callable, optional
        ``callback(batches_done, losses)`` after every batch, ``losses`` of shape (K,).

    Returns
    -------
    list of TrainedNetwork
        One per member, in order: the trained model (CPU), its task, encoder, config
        (``replace(config, seed=seeds[k])``), history and member run folder
        (``out/member_000`` …; None without ``out``).

    Raises
    ------
    TypeError, ValueError, FileExistsError, FloatingPointError
        As :func:`~neurodis.training.train`; also when members, tasks, seeds or
        encoders do not fit together (the message says which).

    Examples
    --------
    >>> from neurodis.tasks import make_task
    >>> from neurodis.models import CTRNN
    >>> tasks = [make_task("classification", n_tasks=n) for n in (2, 3)]
    >>> models = [CTRNN(41, n, n_units=8, seed=k) for k, n in enumerate((2, 3))]
    >>> config = TrainConfig(n_batches=2, batch_size=4, log_every=1, checkpoint_every=2)
    >>> members = train_ensemble(tasks, models, config, progress=False)
    >>> [m.history.sizes["output"] for m in members], [m.config.seed for m in members]
    ([2, 3], [0, 1])
    """
    check_type("config", config, TrainConfig, "a TrainConfig")
    models = list(check_type("models", models, (list, tuple), "a sequence of models"))
    n = len(models)
    tasks = _per_member("tasks", tasks, n, Task)
    seeds = _check_seeds(seeds, config, tasks)
    device = check_device(config.device)
    run = None if out is None else check_path("out", out, kind="folder")
    state = _existing_checkpoint(run, resume)
    if state is not None:
        saved = [decode_encoder(m["encoder"]) for m in state["members"]]
        if encoders is not None and list(encoders) != saved:
            raise ValueError("cannot resume: the encoders differ from the checkpoint's; pass encoders=None")
        encoders = saved
        _check_resume(state, config, tasks, [model_description(m) for m in models])
        if [m["seed"] for m in state["members"]] != seeds:
            saved = [m["seed"] for m in state["members"]]
            raise ValueError(f"cannot resume: seeds differ (checkpoint {saved}, now {seeds})")
    elif encoders is None:
        encoders = [default_encoder(task, replace(config, seed=s)) for task, s in zip(tasks, seeds)]
    encoders = _per_member("encoders", list(encoders), n, (Encoder, type(None)))
    members = [make_member(t, e, s, config.device) for t, e, s in zip(tasks, encoders, seeds)]
    for k, (member, model) in enumerate(zip(members, models)):
        check_member_model(f"models[{k}]", member, model)
    _check_compatible(members)
    module = StackedModel(models).to(device)
    template = copy.deepcopy(models[0]).train()
    engine = Engine(members, module.network(template), module, config,
                    loss=resolve_loss(config, template), activate=template.readout.activate,
                    n_outputs=max(len(t.output_names) for t in tasks))
    if state is not None:
        engine.load_state(state)
    meta = checkpoint_meta("ensemble", config, members, [model_description(m) for m in models])

    def save() -> None:
        save_checkpoint({**meta, **engine.state()}, run / CHECKPOINT_NAME)

    engine.run(save=None if run is None else save, progress=progress, label=f"train ×{n}", callback=callback)
    trained = [module.member(k) for k in range(n)]
    histories = [engine.history.to_dataset(k, t.output_names, history_attrs(replace(config, seed=s), t, m, e))
                 for k, (t, m, e, s) in enumerate(zip(tasks, trained, encoders, seeds))]
    paths = [None] * n if run is None else split_ensemble(run)
    return [TrainedNetwork(m, t, e, replace(config, seed=s), h, p)
            for m, t, e, s, h, p in zip(trained, tasks, encoders, seeds, histories, paths)]


def _per_member(name: str, value: Any, n: int, types: type | tuple[type, ...]) -> list[Any]:
    values = [value] * n if isinstance(value, types) else list(value)
    if len(values) != n:
        raise ValueError(f"{name} must hold one entry per model ({n}); got {len(values)}")
    for k, item in enumerate(values):
        check_type(f"{name}[{k}]", item, types, " or ".join(t.__name__ for t in np.atleast_1d(types)))
    return values


def _check_seeds(seeds: Sequence[int] | None, config: TrainConfig, tasks: list[Task]) -> list[int]:
    n = len(tasks)
    if seeds is None:
        return [config.seed + k for k in range(n)]
    seeds = [check_int(f"seeds[{k}]", s, minimum=0) for k, s in enumerate(seeds)]
    if len(seeds) != n:
        raise ValueError(f"seeds must hold one seed per model ({n}); got {len(seeds)}")
    members = [(json.dumps(task.config(), sort_keys=True), seed) for task, seed in zip(tasks, seeds)]
    if len(set(members)) != n:
        raise ValueError(f"seeds must be distinct among members with equal tasks (they would be copies); got {seeds}")
    return seeds


def _check_compatible(members: list) -> None:
    """Members are stacked: same raw channels, number of steps and encoder shape."""
    first = members[0]
    shape = first.task.sample_arrays(1, np.random.default_rng(0)).inputs.shape[1:]
    for k, member in enumerate(members[1:], start=1):
        other = member.task.sample_arrays(1, np.random.default_rng(0)).inputs.shape[1:]
        if member.task.input_names != first.task.input_names or other != shape:
            raise ValueError(f"tasks[{k}] must have the inputs and steps of tasks[0] ({first.task.input_names}, "
                             f"(time, input)={shape}); got {member.task.input_names}, {other}")
        a, b = first.encoder, member.encoder
        if (a is None) != (b is None) or (a is not None and (a.sizes, a.kind) != (b.sizes, b.kind)):
            raise ValueError(f"encoders[{k}] must have the sizes and kind of encoders[0] "
                             f"({None if a is None else (a.sizes, a.kind)}); "
                             f"got {None if b is None else (b.sizes, b.kind)}")


def split_ensemble(path: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """Write each member of an ensemble checkpoint as an ordinary single-network run.

    Parameters
    ----------
    path : path-like
        An ensemble folder (or its ``checkpoint.pt``) written by :func:`train_ensemble`.
    out : path-like, optional
        Where to put the member folders ``member_000`` …; default the ensemble folder.

    Returns
    -------
    list of pathlib.Path
        The member run folders; each holds what :func:`~neurodis.training.train`
        writes, including a single-network checkpoint that ``train(...,
        resume=True)`` continues exactly as the ensemble would have.

    Raises
    ------
    ValueError
        If the checkpoint is not an ensemble's.
    """
    state = load_checkpoint(path)
    if state.get("kind") != "ensemble":
        raise ValueError(f"path must hold an ensemble checkpoint; got kind {state.get('kind')!r}")
    folder = Path(out) if out is not None else (Path(path) if Path(path).is_dir() else Path(path).parent)
    config = TrainConfig.from_dict(json.loads(state["config"]))
    history = History(len(state["members"]), state["history"]["correct"].shape[-1])
    history.load_state_dict(state["history"])
    paths = []
    for k, saved in enumerate(state["members"]):
        model_desc = json.loads(state["models"][k])
        model = make_model(model_desc["arch"], **model_desc["config"])
        task_config = json.loads(saved["task"])
        task = make_task(task_config.pop("task"), **task_config)
        encoder = decode_encoder(saved["encoder"])
        member_config = replace(config, seed=saved["seed"])
        single = _member_state(state, k, model)
        run = folder / f"member_{k:03d}"
        save_checkpoint({
            **{key: state[key] for key in ("format", "format_version", "batch", "elapsed", "neurodis_version")},
            "kind": "single", "config": member_config.to_json(), "models": [state["models"][k]],
            "members": [saved], **single,
        }, run / CHECKPOINT_NAME)
        model.load_state_dict(single["weights"])
        member_history = history.to_dataset(k, task.output_names, history_attrs(member_config, task, model, encoder))
        write_run(run, model=model, encoder=encoder, task=task, config=member_config, history=member_history,
                  batches_done=int(state["batch"]))
        paths.append(run)
    write_json(folder / "ensemble.json", {
        "kind": "ensemble", "train": config.to_dict(), "seeds": [m["seed"] for m in state["members"]],
        "members": [p.name for p in paths], "models": [json.loads(m) for m in state["models"]]})
    return paths


def _member_state(state: dict[str, Any], k: int, model: nn.Module) -> dict[str, Any]:
    """Member k's weights, Adam state, random streams and history, as a solo run holds them."""
    # the stack keeps the model's parameter order, so Adam's parameter i is the same
    # tensor in both: the one-member ensemble's state without the member axis
    single = select_members(state, [k])
    weights = {name: single["weights"][f"params.{stacked_name(name)}"][0] for name, _ in model.named_parameters()}
    optimizer = {"param_groups": single["optimizer"]["param_groups"],
                 "state": {i: {key: value if key == "step" else value[0] for key, value in entry.items()}
                           for i, entry in single["optimizer"]["state"].items()}}
    return {"weights": weights, "optimizer": optimizer, "rng": single["rng"], "history": single["history"]}


def select_members(state: dict[str, Any], indices: Sequence[int]) -> dict[str, Any]:
    """An ensemble checkpoint restricted to members ``indices``, in that order.

    The result is what an ensemble of just those members would have saved at the same
    batch (weights, Adam state, random streams, history; readouts and histories cut to
    the widest kept member), so :func:`train_ensemble` resumed from it continues each
    kept member exactly as the full ensemble would have.

    Parameters
    ----------
    state : dict
        An ensemble checkpoint (:func:`~neurodis.training.load_checkpoint`).
    indices : sequence of int
        Members to keep, each once.

    Returns
    -------
    dict
        An ensemble checkpoint of ``len(indices)`` members.

    Raises
    ------
    ValueError
        If the checkpoint is not an ensemble's or an index is out of range or repeated.
    """
    if state.get("kind") != "ensemble":
        raise ValueError(f"state must be an ensemble checkpoint; got kind {state.get('kind')!r}")
    n = len(state["members"])
    indices = [check_int(f"indices[{i}]", k, minimum=0, maximum=n - 1) for i, k in enumerate(indices)]
    if not indices or len(set(indices)) != len(indices):
        raise ValueError(f"indices must name distinct members; got {indices}")
    descriptions = [json.loads(state["models"][k]) for k in indices]
    template = make_model(descriptions[0]["arch"], **descriptions[0]["config"])
    width = max(d["config"]["n_outputs"] for d in descriptions)

    def cut(name: str, tensor: torch.Tensor) -> torch.Tensor:
        kept = tensor[indices]
        return (kept[:, :width] if name.startswith("readout.") else kept).clone()

    names = [name for name, _ in template.named_parameters()]
    trainable = [name for name, p in template.named_parameters() if p.requires_grad]
    weights = {f"params.{stacked_name(name)}": cut(name, state["weights"][f"params.{stacked_name(name)}"])
               for name in names}
    saved = state["optimizer"]
    optimizer = {"param_groups": copy.deepcopy(saved["param_groups"]),
                 "state": {i: {key: value.clone() if key == "step" else cut(trainable[i], value)
                               for key, value in entry.items()}
                           for i, entry in saved["state"].items()}}
    history = History(n, state["history"]["correct"].shape[-1])
    history.load_state_dict(state["history"])
    return {**state, "weights": weights, "optimizer": optimizer, "rng": [state["rng"][k] for k in indices],
            "history": history.member_state(indices, width), "members": [state["members"][k] for k in indices],
            "models": [state["models"][k] for k in indices]}


def adopt_members(
    source: str | os.PathLike,
    tasks: Sequence[Task],
    models: Sequence[nn.Module],
    config: TrainConfig,
    *,
    seeds: Sequence[int],
    encoders: Sequence[Encoder | None],
    out: str | os.PathLike,
) -> bool:
    """Start ensemble ``out`` from a checkpoint of a larger ensemble that trains all its members.

    When a sweep regroups its runs (say 25 networks once trained as one ensemble now
    run as 13 + 12 on two workers), the members' progress is in the old ensemble's
    checkpoint. If ``source`` holds every member of the planned ensemble (same task,
    model, encoder and seed) under the same training config (its ``seed`` aside, which
    only seeds members given none), their part of it
    (:func:`select_members`) becomes ``out/checkpoint.pt`` and ``train_ensemble(...,
    out=out, resume=True)`` continues them.

    Returns
    -------
    bool
        Whether a checkpoint was written (False when ``source`` is not a matching ensemble).
    """
    state = load_checkpoint(source)
    # the ensemble's own seed only seeds members without one: it may differ
    if state.get("kind") != "ensemble" or (TrainConfig.from_dict({**json.loads(state["config"]), "seed": config.seed})
                                           != config):
        return False
    members = [make_member(t, e, s, "cpu") for t, e, s in zip(tasks, encoders, seeds)]
    planned = checkpoint_meta("ensemble", config, members, [model_description(m) for m in models])
    saved = [(m["seed"], m["task"], d, decode_encoder(m["encoder"]))
             for m, d in zip(state["members"], state["models"])]
    indices = []
    for member, description, encoder in zip(planned["members"], planned["models"], encoders):
        match = [k for k, entry in enumerate(saved) if entry == (member["seed"], member["task"], description, encoder)]
        if not match:
            return False
        indices.append(match[0])
    save_checkpoint({**select_members(state, indices), "config": config.to_json()}, Path(out) / CHECKPOINT_NAME)
    return True
