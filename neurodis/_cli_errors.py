"""How the command line fails: one line naming the argument or file, not a traceback.

:func:`error_message` turns an error a user causes or repairs (a bad value or type, a
missing, corrupt or unwritable file, a full disk, a missing optional package, a failed
sweep run, an unreachable scheduler) into one line, and returns ``None`` for anything
else: that is a bug, and the command line lets its traceback through.
:func:`check_writable` lets a verb fail on its output location before it computes.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from neurodis.errors import RunFailedError
from neurodis.files import check_path

__all__ = [
    "DEBUG_VARIABLE",
    "HINT",
    "MAX_MESSAGE",
    "check_writable",
    "debug_requested",
    "error_message",
    "name_argument",
    "report",
]

#: Environment variable that, set to anything but ``0``/``false``/``no``/``off``, shows tracebacks
DEBUG_VARIABLE = "NEURODIS_DEBUG"
HINT = f"(run with --debug or {DEBUG_VARIABLE}=1 for the traceback)"
#: Longest message printed, in characters; ``--debug`` shows a longer one whole
MAX_MESSAGE = 400

# FloatingPointError: training stopped on a non-finite loss, which the user repairs with
# a smaller --lr (its message says so); ConnectionError and the file errors are OSErrors.
_USER_ERRORS = (ValueError, TypeError, OSError, ImportError, RunFailedError, FloatingPointError)
#: module -> what to ``pip install`` where that is not the module's own name
_INSTALL = {"pynwb": "neurodis[nwb]", "sklearn": "scikit-learn", "distributed": "dask[distributed]"}
_NO_SPACE = os.strerror(errno.ENOSPC).lower()  # "no space left on device"


def debug_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether :data:`DEBUG_VARIABLE` asks for tracebacks.

    Examples
    --------
    >>> debug_requested({"NEURODIS_DEBUG": "1"}), debug_requested({"NEURODIS_DEBUG": "0"}), debug_requested({})
    (True, False, False)
    """
    return environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no", "off")


def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err`` and the exceptions it was raised from or while handling, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _no_space(err: BaseException) -> bool:
    # torch's zip writer and h5py re-raise a full disk as their own error; the OSError
    # survives in the chain, or at least its wording does in h5py's message
    return any((isinstance(e, OSError) and e.errno == errno.ENOSPC) or _NO_SPACE in str(e).lower()
               for e in _chain(err))


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3].rstrip() + "..."


def _os_error_text(err: OSError) -> str:
    """The message without Python's ``[Errno N]`` prefix, naming the file(s)."""
    if not err.strerror:
        return str(err)
    if err.filename is None:
        return err.strerror
    files = repr(os.fsdecode(err.filename)) if not isinstance(err.filename, int) else f"descriptor {err.filename}"
    if err.filename2 is not None:
        files += f" -> {os.fsdecode(err.filename2)!r}"
    return f"{err.strerror}: {files}"


def _import_error_text(err: ImportError) -> str:
    text = str(err)
    module = (err.name or "").partition(".")[0]
    if "pip install" in text or not module:  # the raiser already says what to install
        return text
    package = _INSTALL.get(module, module)
    if isinstance(err, ModuleNotFoundError):
        return f"the package {module!r} is not installed; install it with `pip install {package}`"
    return f"{text}; reinstall or upgrade it with `pip install --upgrade {package}`"


def error_message(err: BaseException, *, out: Any = None) -> str | None:
    """One line saying what went wrong, or ``None`` if ``err`` is not a user's error.

    Parameters
    ----------
    err : BaseException
        The exception a verb raised.
    out : path-like, optional
        What the verb was writing, named when the disk is full.

    Returns
    -------
    str or None
        The message (whitespace collapsed, at most :data:`MAX_MESSAGE` characters), or
        ``None`` for exceptions that signal a bug (``KeyError``, ``AttributeError``, a
        ``RuntimeError`` that is not a full disk, ...).

    Examples
    --------
    >>> error_message(ValueError("n_trials must be an integer >= 1;\\n got 0"))
    'n_trials must be an integer >= 1; got 0'
    >>> error_message(RuntimeError("file write failed"), out="runs/a")  # not a full disk: a bug
    >>> try:
    ...     try:
    ...         raise OSError(errno.ENOSPC, "No space left on device")
    ...     except OSError:
    ...         raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704")
    ... except RuntimeError as wrapped:
    ...     error_message(wrapped, out="runs/a")
    'no space left on device while writing runs/a'
    >>> error_message(ModuleNotFoundError("No module named 'pynwb'", name="pynwb"))
    "the package 'pynwb' is not installed; install it with `pip install neurodis[nwb]`"
    """
    if _no_space(err):
        if out is None:
            out = next((e.filename for e in _chain(err) if isinstance(e, OSError) and e.filename), None)
        return "no space left on device" + ("" if out is None else f" while writing {os.fsdecode(out)}")
    if not isinstance(err, _USER_ERRORS):
        return None
    if isinstance(err, ImportError):
        text = _import_error_text(err)
    elif isinstance(err, OSError):
        text = _os_error_text(err)
    else:
        text = str(err)
    return _one_line(text or type(err).__name__)


def name_argument(message: str, flags: Mapping[str, str]) -> str:
    """Prefix ``message`` with the command-line spelling of the argument it is about.

    Library messages start with the library's name of the argument (``n_units must
    be ...``); ``flags`` maps such names to what the user typed (``--units``).

    Examples
    --------
    >>> name_argument("n_units must be an integer >= 1; got 0", {"n_units": "--units"})
    '--units: n_units must be an integer >= 1; got 0'
    >>> name_argument("out '/x' already holds a checkpoint", {"out": "--out"})
    "out '/x' already holds a checkpoint"
    """
    match = re.match(r"(\w+) must\b", message)
    if match and flags.get(match.group(1), match.group(1)) != match.group(1):
        return f"{flags[match.group(1)]}: {message}"
    return message


def report(verb: str, message: str) -> None:
    """Print ``neurodis VERB: error: MESSAGE`` and the :data:`HINT` line to stderr."""
    print(f"neurodis {verb}: error: {message}\n{HINT}", file=sys.stderr)


def check_writable(name: str, value: Any, *, kind: str) -> Path:
    """Check that a verb can write its output at ``value`` before it computes anything.

    Creates the folder (``kind="folder"``) or the file's folder (``kind="file"``) if
    needed, then creates and removes a temporary file in it.

    Parameters
    ----------
    name : str
        The option, for messages (``"--out"``).
    value : str or os.PathLike
        The output path.
    kind : {"file", "folder"}
        What the verb writes at ``value``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If ``value`` is an existing file where a folder is expected, or the reverse, or
        lies below an existing file.
    OSError
        If the folder cannot be created or written (``PermissionError`` for a folder
        without write permission, ``errno.EROFS`` on a read-only file system,
        ``errno.ENOSPC`` on a full disk); the message names ``name`` and the path.

    Examples
    --------
    >>> import pathlib, shutil, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_writable("--out", folder / "new" / "trials.nc", kind="file").parent.is_dir()
    True
    >>> (folder / "a_file").write_text("x")
    1
    >>> check_writable("--out", folder / "a_file", kind="folder")
    Traceback (most recent call last):
    ...
    ValueError: --out must be a folder; got '...a_file', which is an existing file
    >>> shutil.rmtree(folder)
    """
    path = check_path(name, value, kind=kind)
    folder = path if kind == "folder" else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # a temporary-file name, so that clean_stale_temps removes one a kill left behind
        handle, probe = tempfile.mkstemp(prefix=".neurodis-write-test.", suffix=".tmp", dir=folder)
        os.close(handle)
        os.remove(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        # OSError(errno, ...) picks the subclass (PermissionError for EACCES, ...)
        raise OSError(err.errno, f"{name} {str(path)!r} is not writable: {reason}") from err
    return path
