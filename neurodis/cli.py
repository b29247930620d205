"""The ``neurodis`` command line: each verb is one library call.

Verbs register themselves in :data:`COMMANDS` through :func:`command`; ``main`` builds
the parser from it. A verb that fails on a user's error (a bad value, a missing or
unwritable file, a full disk, ...) prints ``neurodis VERB: error: MESSAGE`` and exits
with status 1; ``--debug`` or ``NEURODIS_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from neurodis._cli_errors import check_writable, debug_requested, error_message, name_argument, report

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]
#: verb -> (help, function adding arguments to a sub-parser, handler)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]):
    """Register ``handler`` as the verb ``name``."""

    def decorator(handler: Handler) -> Handler:
        COMMANDS[name] = (help, arguments, handler)
        return handler

    return decorator


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@command("tasks", "list the registered tasks and their default parameters", _no_arguments)
def _tasks(args: argparse.Namespace) -> int:
    from neurodis.tasks import list_tasks, make_task

    for name in list_tasks():
        print(f"{name:<24} {make_task(name).config()}")
    return 0


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help="registered task name (see `neurodis tasks`)")
    parser.add_argument("--n-trials", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=JSON",
                        help="task parameter, e.g. --param n_tasks=24 (repeatable)")
    parser.add_argument("--out", required=True, help="netCDF file to write")


def _parse_params(items: list[str]) -> dict:
    """``KEY=JSON`` strings as task parameters."""
    import json

    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param must look like KEY=JSON; got {item!r}")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"--param {key}: the value must be JSON (3, 0.5, \"text\", [1, 2]); got {value!r} "
                             f"({err.msg})") from None
    return params


@command("sample", "sample trials of a task and write them to netCDF", _sample_arguments)
def _sample(args: argparse.Namespace) -> int:
    from neurodis.tasks import make_task
    from neurodis.trials import save_trials

    task = make_task(args.task, **_parse_params(args.param))
    check_writable("--out", args.out, kind="file")
    trials = task.sample(args.n_trials, rng=args.seed)
    print(f"wrote {save_trials(trials, args.out)} with sizes {dict(trials.sizes)}")
    return 0


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="registered task name (see `neurodis tasks`)")
    parser.add_argument("--n-tasks", type=int, default=None, help="number of tasks N (task parameter n_tasks)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=JSON",
                        help="further task parameter, e.g. --param sigma=0.3 (repeatable)")
    parser.add_argument("--arch", default="ctrnn", help="ctrnn, lstm, gru or transformer (default ctrnn)")
    parser.add_argument("--units", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--batches", type=int, default=100_000, help="training batches (default 100000)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0, help="seed of network k is SEED + k")
    parser.add_argument("--ensemble", type=int, default=1, metavar="K",
                        help="train K networks (at once, as one batched model)")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


@command("train", "train networks on a task (the paper's protocol) into a run folder", _train_arguments)
def _train(args: argparse.Namespace) -> int:
    from neurodis._validation import check_int
    from neurodis.tasks import make_task
    from neurodis.training import TrainConfig, train_networks

    params = _parse_params(args.param)
    if args.n_tasks is not None:
        params["n_tasks"] = args.n_tasks
    task = make_task(args.task, **params)
    config = TrainConfig(n_batches=args.batches, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         checkpoint_every=args.checkpoint_every, log_every=args.log_every, device=args.device)
    if args.threads is not None:
        import torch

        torch.set_num_threads(check_int("--threads", args.threads, minimum=1))
    check_writable("--out", args.out, kind="folder")
    results = train_networks(task, config, n_networks=args.ensemble, arch=args.arch,
                             n_units=args.units, out=args.out, resume=args.resume, progress=not args.quiet)
    for result in results:
        last = result.history.isel(batch=-1)
        print(f"seed {result.config.seed}: loss {float(last['loss']):.4f}, decision accuracy "
              f"{float(last['accuracy']):.3f} ({float(last['relative_accuracy']):.3f} of the ideal observer's) "
              f"-> {result.paths.get('model', args.out)}")
    return 0


def _reproduce_arguments(parser: argparse.ArgumentParser) -> None:
    from neurodis.sweeps.presets import PRESETS

    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS),
                        help="; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()))
    parser.add_argument("--out", default=None, help="results folder (default ./neurodis-results/<preset>)")
    parser.add_argument("--scheduler", default=None,
                        help="address of an existing Dask scheduler, or 'synchronous' (default: a "
                             "LocalCluster sized to this machine)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes of the LocalCluster")
    parser.add_argument("--batches", type=int, default=None, help="override the training length of every run")
    parser.add_argument("--select", action="append", default=[], metavar="KEY=V1,V2",
                        help="keep only these values of a swept key, e.g. --select network=ctrnn (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--dashboard", action="store_true",
                        help="serve Dask's dashboard of the local cluster on 127.0.0.1 (its address is printed)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where the ensembles train (default cpu); networks are measured on the CPU")


def _parse_select(preset: str, items: list[str]) -> dict[str, list]:
    """``KEY=V1,V2`` strings as a selection of the preset's own grid values."""
    from neurodis.sweeps.presets import get_preset

    chosen = get_preset(preset)
    grid = chosen.grid
    select = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"--select must look like KEY=V1,V2; got {item!r}")
        options = {str(v): v for v in grid.get(key, [])}
        select[key] = [options.get(v, v) for v in values.split(",")]
    chosen.configs(select=select)  # unknown keys and values fail here, before --out is created
    return select


@command("reproduce", "run a preset sweep of the study: train, measure OOD generalization, "
         "write a table and figures", _reproduce_arguments)
def _reproduce(args: argparse.Namespace) -> int:
    import time

    from neurodis._validation import check_int
    from neurodis.sweeps.reproduce import reproduce, summary_table

    # checked here as well: the sweep would check them only once it has started
    overrides = {} if args.batches is None else {"n_batches": check_int("--batches", args.batches, minimum=1)}
    if args.workers is not None:
        check_int("--workers", args.workers, minimum=1)
    select = _parse_select(args.preset, args.select)
    args.out = str(check_writable("--out", args.out or Path("neurodis-results") / args.preset, kind="folder"))
    start = time.perf_counter()
    results = reproduce(args.preset, out=args.out, scheduler=args.scheduler, n_workers=args.workers,
                        overrides=overrides, select=select,
                        progress=not args.no_progress, dashboard=args.dashboard, device=args.device)
    print(summary_table(results).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\npreset {args.preset!r}: {time.perf_counter() - start:.0f} s; results in "
          f"{results.attrs['store'].removesuffix('/store')}")
    return 0


def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run folder of a network trained on the pulses task (`neurodis train`)")
    parser.add_argument("--recording", required=True,
                        help="LIP data folder (holding yates_lip_pulses/, or that folder, or its LIP.csv)")
    parser.add_argument("--sessions", type=int, nargs="+", default=None, help="session indices (default: all 47)")
    parser.add_argument("--summary", default="window", choices=["window", "final", "pulses"],
                        help="summary of the network rates: mean over the 500 ms after the pulses (default), last step, per pulse")
    parser.add_argument("--shuffles", type=int, default=100, help="trial shuffles in the shuffle null")
    parser.add_argument("--untrained", type=int, default=20, help="untrained networks in the untrained null")
    parser.add_argument("--no-kernel", action="store_true", help="skip the psychophysical kernels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for summary.nc, session_XX.nc and kernels.nc")


@command("compare", "compare a trained pulse network with LIP recordings (kernels, predictivity)", _compare_arguments)
def _compare(args: argparse.Namespace) -> int:
    from neurodis.experiments.comparison import compare_with_recording

    if args.out is not None:
        check_writable("--out", args.out, kind="folder")
    result = compare_with_recording(args.run, args.recording, sessions=args.sessions, summary=args.summary,
                                    n_shuffles=args.shuffles, n_untrained=args.untrained, rng=args.seed,
                                    kernels=not args.no_kernel, progress=True)
    s = result.summary
    print(f"median R² over {s.attrs['n_sessions']} sessions {s.attrs['median_score']:.4f} (shuffle null "
          f"{s.attrs['median_shuffle']:.4f}, untrained {s.attrs.get('median_untrained', float('nan')):.4f}); "
          f"beating the shuffle null at p < {s.attrs['alpha']}: {s.attrs['n_beat_shuffle']}, the untrained "
          f"networks: {s.attrs.get('n_beat_untrained', 0)}")
    if result.kernels is not None:
        table = result.kernels
        for source in table.source.values:
            row = table.sel(source=source)
            weights = " ".join(f"{w:.4f}" for w in row.weights.values)
            print(f"kernel {source:>8}: {weights} (relative slope {float(row.relative_slope):+.3f})")
    paths = [] if args.out is None else result.save(args.out)
    if paths:
        print(f"wrote {len(paths)} files to {args.out}")
    return 0


def _load_single_run(folder: str):
    """The single-network run in ``folder``; a clear error for ensembles."""
    from neurodis.experiments import TrainedNetwork

    if (Path(folder) / "ensemble.json").is_file():
        members = sorted(p.name for p in Path(folder).glob("member_*"))
        raise ValueError(f"RUN_DIR must be a single run; {folder!r} is an ensemble, pass one of its members {members}")
    return TrainedNetwork.load(folder)


def _generalize_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_DIR", help="run folder written by `neurodis train` (or a member folder)")
    parser.add_argument("--n-trials", "--trials", dest="n_trials", type=int, default=8000,
                        help="trials simulated once over the whole latent box; every fold trains on those outside "
                        "its held-out region and tests on those inside (default 8000)")
    parser.add_argument("--folds", default="quadrant", choices=["quadrant", "orthant", "halfspace"])
    parser.add_argument("--time", default="decision",
                        help="decoded step: 'decision' (default), a step index, or 'all' (time-resolved)")
    parser.add_argument("--authors-default", action="store_true",
                        help="also score the authors' default evaluation (folds Q2, Q4 tested on Q1/Q3 trials)")
    parser.add_argument("--adam", action="store_true",
                        help="also score the authors' decoder fit (Adam, lr 3e-3, batches of 16) on the held-out test")
    parser.add_argument("--repeats", type=int, default=None,
                        help="independent evaluations, each with its own trials, noise and decoder fits (a 'repeat' "
                        "dim; the table shows medians and the spread between them); default one, without that dim")
    parser.add_argument("--seed", type=int, default=0,
                        help="SeedSequence(SEED).spawn(2 * repeats): evaluation r simulates with child 2r and fits "
                        "its decoders with child 2r+1 (default 0)")
    parser.add_argument("--out", default=None, help="netCDF file to write (default RUN_DIR/generalization.nc)")


@command("generalize", "out-of-distribution decoder generalization of a trained network "
         "(held-out quadrants; least squares, ridge and optionally the authors' evaluation), written to netCDF",
         _generalize_arguments)
def _generalize(args: argparse.Namespace) -> int:
    """:func:`~neurodis.experiments.generalization` of the run, written to netCDF.

    ``generalization.nc`` holds the least-squares result (``r2_paper``, ``weights``,
    ``trial_role``, ...), the ridge variables prefixed ``ridge_``, with
    ``--authors-default`` the authors' evaluation prefixed ``authors_``, with ``--adam``
    the authors' Adam decoder prefixed ``adam_``, and the extrapolation diagnostics;
    with ``--repeats`` every variable along ``repeat``; attrs ``decoders`` (prefix ->
    decoder), the run's model/task/encoder, the decoded step, ``sigma``, ``n_steps``,
    ``free_rt`` for the r² ceiling, ``seed`` and ``run``.
    """
    from neurodis.experiments import generalization
    from neurodis.trials import save_dataset

    network = _load_single_run(args.run)
    if args.time in ("decision", "all"):
        time: str | int = args.time
    elif args.time.lstrip("-").isdigit():
        time = int(args.time)
    else:
        raise ValueError(f"--time must be 'decision', 'all' or a step index; got {args.time!r}")
    if args.authors_default and args.folds != "quadrant":
        raise ValueError(f"--authors-default needs --folds quadrant (the published run's folds); got {args.folds!r}")
    if args.repeats is not None:
        from neurodis._validation import check_int

        check_int("--repeats", args.repeats, minimum=1)
    args.out = str(check_writable("--out", args.out or Path(args.run) / "generalization.nc", kind="file"))
    decoders = ["lstsq", "ridge"] + ["authors"] * args.authors_default + ["adam"] * args.adam
    result = generalization(network, n_trials=args.n_trials, folds=args.folds, time=time, decoders=decoders,
                            n_repeats=args.repeats, rng=args.seed)
    result.attrs.update(seed=args.seed, run=str(Path(args.run).resolve()))
    path = save_dataset(result, Path(args.out))
    _print_generalization(result, path)
    return 0


def _print_generalization(result, path) -> None:
    """A table of r2_paper per fold for every decoder (the last step when time-resolved; the median
    over evaluations, and their spread, when repeated)."""
    from neurodis.analysis import r2_ceiling

    table = result.isel(time=-1) if "time" in result.dims else result
    columns = [(name, f"{prefix}r2_paper") for name, prefix in (("authors", "authors_"), ("adam", "adam_"))
               if f"{prefix}r2_paper" in table]
    repeats = table.sizes.get("repeat", 0)
    if repeats:
        spread = {name: float(table[variable].std("repeat", ddof=1).median()) if repeats > 1 else float("nan")
                  for name, variable in (("lstsq", "r2_paper"), ("ridge", "ridge_r2_paper"), *columns)}
        printed = ["r2_paper", "ridge_r2_paper", "r2", "angle", "ridge_alpha", "id_r2_paper", "ridge_id_r2_paper"]
        table = table[printed + [variable for _, variable in columns]].median("repeat")
    print(f"{'held out':<10}{'lstsq':>8}{'ridge':>8}" + "".join(f"{name:>9}" for name, _ in columns)
          + f"{'r2':>8}{'angle':>8}{'ridge α':>10}")
    for i, fold in enumerate(table["heldout"].values):
        row = table.isel(fold=i)
        extra = "".join(f"{float(row[variable]):>9.3f}" for _, variable in columns)
        print(f"{fold:<10}{float(row['r2_paper']):>8.3f}{float(row['ridge_r2_paper']):>8.3f}{extra}"
              f"{float(row['r2']):>8.3f}{float(row['angle']):>8.1f}{float(row['ridge_alpha']):>10.2g}")
    ceiling = r2_ceiling(result.attrs["sigma"], int(result.attrs["n_steps"]), free_rt=bool(result.attrs["free_rt"]))
    median = " (medians over evaluations)" if repeats else ""
    print(f"r2_paper (1 - MSE/(1/12)){median}; in distribution: lstsq {float(table['id_r2_paper']):.3f}, "
          f"ridge {float(table['ridge_id_r2_paper']):.3f}; ceiling {ceiling:.3f}; wrote {path}")
    if repeats:
        print(f"spread between {repeats} evaluations (sd of r2_paper, median over folds): "
              + ", ".join(f"{name} {value:.3f}" for name, value in spread.items()))


def _dynamics_arguments(parser: argparse.ArgumentParser, *, fixed_points: bool) -> None:
    parser.add_argument("run", metavar="RUN_DIR", help="run folder written by `neurodis train` (or a member folder)")
    parser.add_argument("--n-trials", type=int, default=256, help="noise-free trials simulated (default 256)")
    if fixed_points:
        parser.add_argument("--n-inits", type=int, default=128, help="starting points (default 128)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the netCDF file and figures (default RUN_DIR)")


def _run_rates(args: argparse.Namespace):
    """The run, its trials (encoded) and its noise-free rates (trial, time, unit).

    Fails on an unwritable ``--out`` (default RUN_DIR) before simulating; ``args.out``
    becomes the output folder.
    """
    from neurodis.experiments.dynamics import visited_states

    network = _load_single_run(args.run)
    args.out = str(check_writable("--out", args.out or args.run, kind="folder"))
    trials = network.task.sample(args.n_trials, rng=args.seed, encoder=network.encoder)
    return network, trials, visited_states(network, trials)


@command("fixed-points", "find fixed and slow points of a trained network under the zero-evidence input, "
         "with their spectra; write netCDF and figures", lambda p: _dynamics_arguments(p, fixed_points=True))
def _fixed_points(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from neurodis.analysis import pca, slow_mode_counts
    from neurodis.experiments.dynamics import attractor
    from neurodis.plotting import (
        plot_amplification,
        plot_eigenvalues,
        plot_pc_trajectories,
    )
    from neurodis.plotting.common import save_figure
    from neurodis.trials import save_dataset

    network, _, rates = _run_rates(args)
    found = attractor(network, rates, n_inits=args.n_inits, rng=args.seed)
    out = Path(args.out)
    paths = [save_dataset(found, out / "fixed_points.nc")]
    for name, fig in (("eigenvalues", plot_eigenvalues(found)),
                      ("eigenvalues_continuous", plot_eigenvalues(found, kind="continuous")),
                      ("amplification", plot_amplification(found)),
                      ("fixed_points_pcs", plot_pc_trajectories(
                          pca(rates), color_by="quadrant" if "quadrant" in rates.coords else None,
                          fixed_points=found["states"]))):
        paths.append(save_figure(fig, out / f"{name}.png"))
    mu = found["eigenvalues_real"].values + 1j * found["eigenvalues_imag"].values
    modulus, near_zero = np.abs(mu), slow_mode_counts(found).values  # eigenvalues of J − I near 0
    print(f"{found.sizes['fixed_point']} points from {found.attrs['n_inits']} starts "
          f"({found.attrs['n_exact']} exact, {found.attrs['n_slow']} slow, {found.attrs['n_diverged']} diverged)")
    print(f"{'#':>3} {'kind':>5} {'q':>9} {'merged':>6} {'stable':>6} {'max|mu|':>8} {'|mu-1|<.05':>10}")
    for i in range(min(found.sizes["fixed_point"], 10)):
        print(f"{i:>3} {found['kind'].values[i]:>5} {found['q'].values[i]:9.2e} {found['cluster_size'].values[i]:>6} "
              f"{bool(found['stable_discrete'].values[i])!s:>6} {modulus[i, 0]:8.4f} {near_zero[i]:>10}")
    print(f"wrote {len(paths)} files to {out}")
    return 0


@command("geometry", "PCA, participation ratio, sparseness and tuning maps of a trained network's "
         "noise-free trajectories; write netCDF and figures", lambda p: _dynamics_arguments(p, fixed_points=False))
def _geometry(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import xarray as xr

    from neurodis.analysis import tuning_maps
    from neurodis.experiments.dynamics import geometry
    from neurodis.plotting import (
        plot_explained_variance,
        plot_pc_trajectories,
        plot_tuning_maps,
    )
    from neurodis.plotting.common import save_figure
    from neurodis.trials import save_dataset

    _, trials, rates = _run_rates(args)
    measured = geometry(rates)
    kept = ["explained_variance_ratio", "participation_ratio", "sparseness", "mean_sparseness", "mean_rate",
            "fraction_active"]
    result = xr.Dataset({name: measured[name] for name in kept},  # coords before variables in the file
                        attrs={"run": str(args.run), "n_trials": args.n_trials, "seed": args.seed,
                               "state_time": measured.attrs["state_time"]})
    out = Path(args.out)
    paths = [save_dataset(result, out / "geometry.nc")]
    figures = [("explained_variance", plot_explained_variance(measured)),
               ("pc_trajectories", plot_pc_trajectories(
                   measured, color_by="quadrant" if "quadrant" in rates.coords else None))]
    if trials.sizes.get("latent", 0) >= 2:
        maps = tuning_maps(rates.isel(time=-1, drop=True), trials["latents"])
        paths.append(save_dataset(maps, out / "tuning_maps.nc"))
        figures.append(("tuning_maps", plot_tuning_maps(maps)))
    paths += [save_figure(fig, out / f"{name}.png") for name, fig in figures]
    ratio = measured["explained_variance_ratio"].values
    print(f"variance explained by PC1..3: {' '.join(f'{v:.3f}' for v in ratio[:3])} "
          f"(first two: {ratio[:2].sum():.3f}); participation ratio {float(measured['participation_ratio']):.2f}")
    print(f"mean lifetime sparseness {float(measured['mean_sparseness']):.3f} over {measured.attrs['n_stimuli']} "
          f"trials ({measured.attrs['n_silent']} silent units); "
          f"fraction active {float(measured['fraction_active']):.3f}")
    print(f"wrote {len(paths)} files to {out}")
    return 0


@command("versions", "print the versions of neurodis and its dependencies", _no_arguments)
def _versions(args: argparse.Namespace) -> int:
    from neurodis import show_versions

    show_versions()
    return 0


#: the library's name of an argument -> the dest of the option that sets it
LIBRARY_NAMES = {"n_batches": "batches", "n_units": "units", "n_networks": "ensemble", "n_workers": "workers",
                 "n_shuffles": "shuffles", "n_untrained": "untrained", "rng": "seed", "name": "task"}
DEBUG_HELP = "show the full traceback of an error (also: environment variable NEURODIS_DEBUG=1)"


def _argument_names(parser: argparse.ArgumentParser) -> dict[str, tuple[str, str, object]]:
    """Argument names as messages spell them (``n_trials``, ``n_units``) -> (dest, spelling
    on the command line (``--n-trials``), default)."""
    names = {}
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of a parser's arguments
        if action.dest not in (argparse.SUPPRESS, "help", "debug"):
            longest = max(action.option_strings, key=len, default=None)
            names[action.dest] = (action.dest, longest or action.metavar or action.dest.upper(), action.default)
    names.update({lib: names[dest] for lib, dest in LIBRARY_NAMES.items() if dest in names})
    return names


def _given_flags(args: argparse.Namespace) -> dict[str, str]:
    """Spellings of the arguments the user set: a message about ``n_tasks`` names
    ``--n-tasks`` only if that was given, not ``--param n_tasks=...``."""
    return {name: flag for name, (dest, flag, default) in args.argument_names.items()
            if getattr(args, dest, default) != default}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per registered verb."""
    from neurodis._version import __version__

    parser = argparse.ArgumentParser(prog="neurodis", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"neurodis {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, (help_text, arguments, handler) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        arguments(child)
        # SUPPRESS: without the flag after the verb, the one before it stands
        child.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        child.set_defaults(handler=handler, argument_names=_argument_names(child))
    return parser


#: verbs whose work is checkpointed, so that an interrupted run resumes
RESUMABLE = {"train": "add --resume to continue", "reproduce": "run the same command again to resume"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    A user's error (see :func:`neurodis._cli_errors.error_message`) ends a verb with
    status 1 and ``neurodis VERB: error: MESSAGE`` on stderr, unless ``--debug`` or
    ``NEURODIS_DEBUG=1`` asks for the traceback; any other exception is a bug and keeps
    its traceback. Ctrl-C ends a verb with status 130 and one line. Usage errors exit
    with argparse's status 2.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        hint = RESUMABLE.get(args.verb)
        tail = f"; finished runs and checkpoints are kept: {hint}" if hint else ""
        print(f"neurodis {args.verb}: interrupted{tail}", file=sys.stderr)
        return 130
    except Exception as err:
        message = None if args.debug or debug_requested() else error_message(err, out=getattr(args, "out", None))
        if message is None:
            raise
        report(args.verb, name_argument(message, _given_flags(args)))
        return 1


if __name__ == "__main__":
    sys.exit(main())
