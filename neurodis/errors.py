"""The exceptions neurodis raises besides the standard ``ValueError``/``TypeError``.

Every error of the package that a user can cause or repair (a bad argument, a missing
or corrupt file, a run that failed in a sweep) is one of these or a standard
``ValueError``, ``TypeError`` or ``OSError``; the command line turns each into one line
(``neurodis VERB: error: ...``).
"""

from __future__ import annotations

__all__ = ["CorruptFileError", "NeurodisError", "RunFailedError"]


class NeurodisError(Exception):
    """Base class of neurodis's own exceptions."""


class CorruptFileError(NeurodisError, ValueError):
    """A file neurodis wrote is truncated, garbled or fails its SHA-256 check.

    The message names the file and what is wrong with it; the file is never used.
    """


class RunFailedError(NeurodisError, RuntimeError):
    """A sweep run raised a deterministic error; retrying it would fail again.

    The message names the run, the error and the log file holding its traceback.
    """
