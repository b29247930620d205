"""Package-level contracts: import layering, a light ``import neurodis``, a resolvable public API."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import neurodis

PACKAGE = Path(neurodis.__file__).parent

# Data flows one way (STYLE.md §1): a module may import only from its own layer or below.
LAYERS = {
    "_version": 0,
    "_validation": 0,
    "errors": 0,
    "files": 0,
    "trials": 1,
    "latents": 1,
    "probit": 1,
    "tasks": 2,
    "recordings": 2,
    "models": 3,
    "simulator": 4,
    "training": 5,
    "analysis": 6,
    "plotting": 7,
    "experiments": 8,
    "sweeps": 9,
    "cli": 10,
    "_cli_errors": 10,
    "__main__": 10,
    "__init__": 10,
}


def _layer(module_path: Path) -> tuple[str, int]:
    parts = module_path.relative_to(PACKAGE).with_suffix("").parts
    name = parts[0]
    if len(parts) == 1 and name == "__init__":
        return "neurodis", LAYERS["__init__"]
    return name, LAYERS[name]


def _imported_neurodis_parts(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "neurodis":
                found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down_the_flow(path):
    source_name, source_layer = _layer(path)
    tree = ast.parse(path.read_text())
    for target in _imported_neurodis_parts(tree):
        assert target in LAYERS, f"{path} imports unknown subpackage neurodis.{target}; add it to LAYERS"
        assert LAYERS[target] <= source_layer, (
            f"{source_name} (layer {source_layer}) imports neurodis.{target} (layer {LAYERS[target]})"
        )


# Analyses are pure (DESIGN.md): labelled data in, labelled results out. They sample no
# task, build or load no model, read no recording, so they import none of these, at
# module level or inside a function.
IMPURE = {"tasks", "models", "training", "recordings", "simulator"}
ANALYSIS_MODULES = sorted((PACKAGE / "analysis").rglob("*.py"))


def _reached_through_the_top_level(tree: ast.AST) -> set[str]:
    """Subpackages behind ``from neurodis import name`` (``simulate`` -> ``simulator``)."""
    eager = {name: "neurodis.tasks" for name in ("Task", "Timing", "list_tasks", "make_task")}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "neurodis" and node.level == 0:
            for alias in node.names:
                module = {**neurodis._LAZY, **eager}.get(alias.name, f"neurodis.{alias.name}")
                found.add(module.split(".")[1])
    return found


@pytest.mark.parametrize("path", ANALYSIS_MODULES, ids=lambda p: str(p.relative_to(PACKAGE / "analysis")))
def test_analyses_import_no_task_model_training_recording_or_simulator(path):
    tree = ast.parse(path.read_text())
    reached = (_imported_neurodis_parts(tree) | _reached_through_the_top_level(tree)) & IMPURE
    assert not reached, f"{path} imports neurodis.{sorted(reached)}: analyses take labelled data (see DESIGN.md)"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= 800, f"{path} is over 800 lines: split it by purpose"


def test_import_is_light():
    code = "import sys, neurodis; print(sorted(m for m in ('torch', 'numba', 'dask', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_resolves():
    for name in neurodis.__all__:
        assert getattr(neurodis, name) is not None, name
    with pytest.raises(AttributeError, match="module 'neurodis' has no attribute 'nope'"):
        neurodis.nope  # noqa: B018


def test_show_versions_lists_core_dependencies(capsys):
    versions = neurodis.show_versions()
    assert versions["neurodis"] == neurodis.__version__
    assert "xarray" in capsys.readouterr().out
