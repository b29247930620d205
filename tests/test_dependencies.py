"""Every third-party module neurodis needs at run time is installed by the base install.

README command 1 once crashed on a fresh machine: h5netcdf, which xarray loads by name
for ``engine="h5netcdf"``, stopped installing h5py, and only the ``[test]`` extra brought it
in (through pynwb), so CI passed. These tests read the declared requirements from
``setup.cfg`` and check them three ways: every module the package imports (anywhere, also
lazily inside functions), every backend it asks a library to load by name, and every
module actually loaded while the main job's code path runs in a fresh interpreter.
"""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import neurodis

PACKAGE = Path(neurodis.__file__).parent
SETUP_CFG = PACKAGE.parent / "setup.cfg"

#: xarray I/O engines -> the modules xarray imports for them
ENGINE_MODULES = {"h5netcdf": ("h5netcdf", "h5py"), "netcdf4": ("netCDF4",), "scipy": ("scipy",),
                  "zarr": ("zarr",)}


def _requirements(section: str, key: str) -> list[Requirement]:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    lines = [line.strip() for line in parser[section][key].splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("#")]


def base_requirements() -> list[Requirement]:
    return _requirements("options", "install_requires")


def extra_requirements() -> dict[str, list[Requirement]]:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    return {extra: _requirements("options.extras_require", extra) for extra in parser["options.extras_require"]}


@cache
def _module_distributions() -> dict[str, list[str]]:
    return {module: [canonicalize_name(d) for d in dists]
            for module, dists in metadata.packages_distributions().items()}


def distribution_of(module: str) -> str:
    """The installed distribution providing the top-level ``module``."""
    found = _module_distributions().get(module)
    assert found, f"module {module!r} is imported by neurodis but no installed distribution provides it"
    return found[0]


def installed_by(requirements: list[Requirement]) -> set[str]:
    """Distributions a ``pip install`` of ``requirements`` brings in (requirements closure, no extras
    beyond the ones named), among those installed here."""
    seen: set[str] = set()
    todo = [(canonicalize_name(r.name), frozenset(r.extras)) for r in requirements]
    while todo:
        name, extras = todo.pop()
        if name in seen and not extras:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return seen


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node))
    return found


def _guarded_extra(tree: ast.AST, node: ast.AST) -> str | None:
    """The extra named by an ``except ImportError`` around ``node`` (``pip install neurodis[EXTRA]``)."""
    for handler_owner in ast.walk(tree):
        if not isinstance(handler_owner, ast.Try) or not any(n is node for b in handler_owner.body
                                                             for n in ast.walk(b)):
            continue
        for handler in handler_owner.handlers:
            text = ast.unparse(handler)
            match = re.search(r"neurodis\[(\w+)\]", text)
            if "ImportError" in text and match:
                return match.group(1)
    return None


def third_party_imports() -> list[tuple[str, Path, str | None]]:
    """(top-level module, file, extra guarding it or None) for every import in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for module, node in _imports(tree):
            if module not in sys.stdlib_module_names and module != "neurodis":
                found.append((module, path, _guarded_extra(tree, node)))
    return found


def test_setup_cfg_declares_requirements():
    names = {canonicalize_name(r.name) for r in base_requirements()}
    assert {"numpy", "torch", "xarray", "h5netcdf", "h5py"} <= names


@pytest.mark.parametrize("module, path, extra", third_party_imports(),
                         ids=lambda v: str(v.relative_to(PACKAGE)) if isinstance(v, Path) else str(v))
def test_every_import_is_a_declared_requirement(module, path, extra):
    distribution = distribution_of(module)
    if extra is None:  # declared directly, not left to another package's requirements
        assert distribution in {canonicalize_name(r.name) for r in base_requirements()}, (
            f"{path.relative_to(PACKAGE)} imports {module!r} (distribution {distribution!r}), which "
            f"install_requires in setup.cfg does not declare"
        )
    else:
        extras = extra_requirements()
        assert extra in extras, f"{path} points users at neurodis[{extra}], which setup.cfg does not define"
        assert distribution in installed_by(extras[extra]), f"neurodis[{extra}] does not install {distribution!r}"


def test_io_engines_are_declared():
    engines = set()
    for path in PACKAGE.rglob("*.py"):
        engines |= set(re.findall(r"engine=[\"'](\w+)[\"']", path.read_text()))
    assert engines, "no xarray engine named in the package: this test no longer guards anything"
    declared = {canonicalize_name(r.name) for r in base_requirements()}
    for engine in engines:
        assert engine in ENGINE_MODULES, f"xarray engine {engine!r} is used: add the modules it loads to ENGINE_MODULES"
        for module in ENGINE_MODULES[engine]:
            assert distribution_of(module) in declared, f"engine={engine!r} needs {module!r}: declare it in setup.cfg"


#: Makes every top-level module in sys.argv[1:] unimportable, as on a machine without it.
BLOCKER = """
import importlib.machinery, sys
BLOCKED = set(sys.argv[1:])
class Blocking(importlib.machinery.PathFinder):  # blocked modules are simply not found
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            return None
        return super().find_spec(name, path, target)
sys.meta_path = [Blocking if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
"""

MAIN_PATH = """
import sys, tempfile, pathlib
import numpy as np
from neurodis.tasks import make_task
from neurodis.training import TrainConfig, train_networks
from neurodis.trials import save_dataset, load_dataset
from neurodis.experiments import run
folder = pathlib.Path(tempfile.mkdtemp())
task = make_task("classification", n_tasks=2)
config = TrainConfig(n_batches=3, batch_size=4, seed=0, checkpoint_every=2, log_every=1)
networks = train_networks(task, config, n_networks=2, n_units=8, out=folder / "run", progress=False)
trials = run(networks[0], task.sample(64, rng=0, encoder=networks[0].encoder))
load_dataset(save_dataset(trials, folder / "states.nc"))
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.slow
def test_the_main_path_runs_with_the_base_install_alone():
    # Every installed third-party module outside the base install's requirements is made
    # unimportable: libraries that import one opportunistically (numpy.f2py tries
    # charset_normalizer) carry on without it, a real dependency fails the run.
    base = installed_by(base_requirements())
    blocked = sorted(module for module, distributions in _module_distributions().items()
                     if module.isidentifier() and module not in sys.stdlib_module_names
                     and module != "neurodis" and not set(distributions) & base)
    assert "pytest" in blocked, "the test extra's modules should be blocked here"
    out = subprocess.run([sys.executable, "-c", BLOCKER + MAIN_PATH, *blocked], capture_output=True, text=True)
    assert out.returncode == 0, f"the main path needs a module outside the base install:\n{out.stderr[-2000:]}"
    assert "h5py" in out.stdout.split(), "the main path no longer writes netCDF through h5py: update this test"
