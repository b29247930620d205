"""Import-time guarantees: the numpy analyses load without torch.

Importing torch costs seconds; `neurodis.analysis.similarity` (pure numpy metrics) once
paid them because the fixed-point search (now `experiments/fixed_points.py`) imported torch
at module level. Each check
runs in a fresh interpreter, since this test session has long imported torch.
"""

import subprocess
import sys
from pathlib import Path

import neurodis

ANALYSIS = Path(neurodis.__file__).parent / "analysis"


def _loaded_after(imports: str, modules: tuple[str, ...]) -> list[str]:
    code = f"import sys\n{imports}\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return eval(out.stdout)  # noqa: S307 - our own print of a list of str


def test_similarity_metrics_import_without_torch():
    assert _loaded_after("import neurodis.analysis.similarity", ("torch",)) == []


def test_analysis_package_leaves_scikit_learn_to_the_functions_that_use_it():
    """scikit-learn adds about 2 s; the estimators (which subclass its bases) load on first use."""
    assert _loaded_after("import neurodis.analysis.similarity", ("sklearn",)) == []


def test_no_analysis_module_imports_torch_at_module_level():
    names = sorted(
        "neurodis." + ".".join(path.relative_to(ANALYSIS.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in ANALYSIS.rglob("*.py")
    )
    imports = "\n".join(f"import {name}" for name in names)
    assert _loaded_after(imports, ("torch",)) == []
