"""Files written once and read back safely: atomic writes, JSON, SHA-256 sidecars, path checks.

Every file neurodis writes goes through :func:`atomic_write`: the content is written to
a temporary file in the target's folder (``.<name>.<host>.<pid>.<random>.tmp``), flushed
and fsynced, renamed over the target with :func:`os.replace`, and the folder is fsynced,
so after a crash or a kill the target is either the old file or the complete new one.
The new file's mode honours the umask (``0o666 & ~umask``, as ``open`` gives), not
:func:`tempfile.mkstemp`'s private ``0o600``.

Weights, checkpoints and netCDF results are also *checksummed*: after the file, a
sidecar ``<file>.sha256`` in ``sha256sum`` format is written (atomically), and
:func:`verify_file` checks the file against it before a loader uses the data. A file
that was flipped, truncated or overwritten after it was written raises
:class:`~neurodis.errors.CorruptFileError` naming the file and both digests. The check
needs the sidecar: a file written before sidecars existed (or copied without its
sidecar) still loads, unchecked, and a loader that cannot parse it still raises
:class:`~neurodis.errors.CorruptFileError`. ``sha256sum -c result.nc.sha256`` checks a
file by hand from its folder.

Temporary files left by an interrupted writer are removed the next time their folder
is written: those of a writer that no longer runs on this machine after a minute
(:data:`DEAD_WRITER_SECONDS`), any other after a day (:data:`STALE_SECONDS`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurodis._validation import check_in, check_real, describe
from neurodis.errors import CorruptFileError

__all__ = [
    "DEAD_WRITER_SECONDS",
    "SIDECAR_SUFFIX",
    "STALE_SECONDS",
    "atomic_write",
    "check_path",
    "clean_stale_temps",
    "file_sha256",
    "process_started",
    "read_json",
    "sidecar_path",
    "verify_file",
    "write_json",
]

#: Suffix of the checksum sidecar: ``model.safetensors.sha256`` beside ``model.safetensors``
SIDECAR_SUFFIX = ".sha256"

#: A temporary file older than this (one day) is stale whoever wrote it; writes take
#: seconds, and the age rule is the only one that is safe for writers on other machines
#: sharing the folder (their pids mean nothing here)
STALE_SECONDS = 24 * 3600.0

#: A temporary file of a writer that no longer runs is removed once it is this old (s):
#: containers that share a hostname but not a pid namespace cannot see each other's
#: writers, and a writer is done with its file within seconds
DEAD_WRITER_SECONDS = 60.0

# ".result.nc.node-3.4242.9f86d081.tmp"; the host is sanitised so the name parses back
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
# the temporary files of neurodis before this module (tempfile.mkstemp names)
_LEGACY_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_SIDECAR_LINE = re.compile(r"^(?P<digest>[0-9a-f]{64}) [ *](?P<name>.+)$")
_CHUNK = 1 << 20


def check_path(name: str, value: Any, *, kind: str | None = None, must_exist: bool = False) -> Path:
    """Return ``value`` as a :class:`~pathlib.Path` after checking its type and what is there.

    Parameters
    ----------
    name : str
        The argument's name, for messages.
    value : str or os.PathLike
        The path.
    kind : {"file", "folder"}, optional
        What the path must be (or become): a path that exists as the other kind, or one
        below an existing *file*, is refused.
    must_exist : bool
        Also refuse a path that does not exist.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        If ``value`` is not a str or path-like object (``None``, an int, ...).
    ValueError
        If ``value`` is empty or collides with an existing file or folder.
    FileNotFoundError
        If ``must_exist`` and nothing is at the path.

    Examples
    --------
    >>> check_path("out", "runs/a")
    PosixPath('runs/a')
    >>> check_path("out", None)
    Traceback (most recent call last):
    ...
    TypeError: out must be a path (str or os.PathLike); got NoneType None
    """
    if kind is not None:
        check_in("kind", kind, ["file", "folder"])
    if isinstance(value, (bytes, bool)) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike); got {type(value).__name__} {describe(value)}")
    if not os.fspath(value):
        raise ValueError(f"{name} must be a non-empty path; got {value!r}")
    path = Path(value)
    if kind == "file" and path.is_dir():
        raise ValueError(f"{name} must be a file path; got {str(path)!r}, which is an existing folder")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise ValueError(f"{name} must be a folder; got {str(path)!r}, which is an existing file")
    if kind is not None:
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise ValueError(f"{name} {str(path)!r} cannot be created: {str(parent)!r} is a file, "
                                     "not a folder")
                break
    if must_exist and not path.exists():
        raise FileNotFoundError(f"{name} must be an existing {kind or 'path'}; got {str(path)!r}, which does not exist")
    return path


def sidecar_path(path: str | os.PathLike) -> Path:
    """The checksum sidecar of ``path``: the same name with ``.sha256`` appended.

    Examples
    --------
    >>> sidecar_path("runs/a/result.nc").name
    'result.nc.sha256'
    """
    path = check_path("path", path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _hash_handle(handle: Any) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of the file at ``path``, as 64 hex digits (what ``sha256sum`` prints)."""
    with open(check_path("path", path), "rb") as handle:
        return _hash_handle(handle)


def process_started(pid: int) -> float | None:
    """The start time (seconds since the epoch) of process ``pid`` on this machine.

    ``None`` if it does not run (or is a zombie), NaN if it runs under another user (its
    start time cannot be read). A writer or lock holder is alive while this is not
    ``None``; comparing start times tells a live holder from a new process that reused
    its pid.

    Examples
    --------
    >>> process_started(os.getpid()) > 0
    True
    """
    import psutil  # a dependency of dask.distributed, declared directly

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:  # it runs, under another user
        return float("nan")


def clean_stale_temps(folder: str | os.PathLike, *, max_age: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary files that interrupted writers left in ``folder``.

    A neurodis temporary file is removed when its writer (named by host and pid in the
    file name) no longer runs on this machine and the file is older than
    :data:`DEAD_WRITER_SECONDS`, and any temporary file, also one of an older neurodis
    or of another machine, when it is older than ``max_age`` seconds.
    Files that cannot be removed are left alone; a missing folder holds nothing.

    Parameters
    ----------
    folder : str or path
    max_age : float
        Age in seconds beyond which a temporary file is stale whoever wrote it.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / ".result.nc.somehost.999999999.0123abcd.tmp").write_bytes(b"half")
    >>> [p.name for p in clean_stale_temps(folder, max_age=0)]
    ['.result.nc.somehost.999999999.0123abcd.tmp']
    """
    folder = check_path("folder", folder)
    max_age = check_real("max_age", max_age, minimum=0.0)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None and not _LEGACY_TEMP.match(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            dead = (match is not None and match["host"] == _HOST and int(match["pid"]) != os.getpid()
                    and age > DEAD_WRITER_SECONDS and process_started(int(match["pid"])) is None)
            if dead or age > max_age:
                os.remove(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":  # folders cannot be opened (nor need to be synced) there
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:
        # some network and FUSE file systems cannot sync a folder; the rename stands
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _sync_and_hash(tmp: Path, mode: int, checksum: bool) -> str | None:
    """fsync the written temporary file, restore its umask mode, hash it when asked."""
    with open(tmp, "rb") as handle:
        digest = _hash_handle(handle) if checksum else None
        os.fsync(handle.fileno())
        # a writer that re-created the file may have given it its own mode
        if os.fstat(handle.fileno()).st_mode & 0o777 != mode:
            os.chmod(tmp, mode)
    return digest


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any], *, checksum: bool = False) -> Path:
    """Write a file atomically: ``write(temporary_path)``, fsync, rename, fsync the folder.

    The parent folder is created if needed, and stale temporary files in it are removed
    first (:func:`clean_stale_temps`). The temporary file is created empty (mode
    ``0o666 & ~umask``) before ``write`` is called with its path; ``write`` may
    overwrite it. On any error, also ``KeyboardInterrupt``, the temporary file is
    removed and the target is left as it was.

    Parameters
    ----------
    path : str or path
        The target file.
    write : callable
        ``write(tmp)`` writes the whole content to the :class:`~pathlib.Path` ``tmp``.
    checksum : bool
        Also record the file's SHA-256 in the sidecar ``<path>.sha256``, which
        :func:`verify_file` checks. Any existing sidecar is removed before the rename
        (so a crash between the two renames leaves an unchecked file, never a false
        alarm).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``path`` is not a path.
    ValueError
        If ``path`` is an existing folder or lies below an existing file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = atomic_write(path, lambda tmp: tmp.write_text("hello"), checksum=True)
    >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
    ('hello', ['notes.txt', 'notes.txt.sha256'])
    """
    path = check_path("path", path, kind="file")
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path.parent)
    digest = _replace(path, write, checksum)
    if digest is not None:
        _replace(sidecar_path(path), lambda side: side.write_text(f"{digest}  {path.name}\n", encoding="utf-8"), False)
    return path


def _replace(path: Path, write: Callable[[Path], Any], checksum: bool) -> str | None:
    """The write itself, in a checked folder: temporary file, fsync, rename, folder fsync;
    the file's SHA-256 when ``checksum``."""
    folder = path.parent
    tmp = folder / f".{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        mode = os.stat(tmp).st_mode & 0o777  # what the umask allowed
        write(tmp)
        digest = _sync_and_hash(tmp, mode, checksum)
        # a stale sidecar beside a new file would be a false alarm on the next load
        sidecar_path(path).unlink(missing_ok=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return digest


def _read_sidecar(sidecar: Path) -> str:
    try:
        line = sidecar.read_text(encoding="utf-8").splitlines()[0]
    except (UnicodeDecodeError, IndexError) as err:
        raise CorruptFileError(f"checksum file {str(sidecar)!r} must hold a line '<sha256>  <name>'; "
                               "it is empty or garbled") from err
    match = _SIDECAR_LINE.match(line)
    if match is None:
        raise CorruptFileError(f"checksum file {str(sidecar)!r} must hold a line '<sha256>  <name>'; "
                               f"got {line[:80]!r}")
    return match["digest"]


def verify_file(path: str | os.PathLike) -> bool:
    """Check the file at ``path`` against its SHA-256 sidecar, if it has one.

    Parameters
    ----------
    path : str or path
        An existing file.

    Returns
    -------
    bool
        True when the sidecar exists and matches; False when there is no sidecar (files
        written before neurodis recorded checksums), in which case nothing is checked.

    Raises
    ------
    CorruptFileError
        If the file's SHA-256 differs from the recorded one (the file was damaged,
        truncated or replaced after it was written), or the sidecar is garbled.
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.bin"
    >>> _ = atomic_write(path, lambda tmp: tmp.write_bytes(b"weights"), checksum=True)
    >>> verify_file(path)
    True
    >>> _ = path.write_bytes(b"weighty")
    >>> verify_file(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neurodis.errors.CorruptFileError: .../w.bin is corrupt: its SHA-256 is ... but w.bin.sha256 recorded ...
    """
    path = check_path("path", path, kind="file", must_exist=True)
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return False
    expected = _read_sidecar(sidecar)
    found = file_sha256(path)
    if found != expected:
        raise CorruptFileError(
            # digests shortened to 16 hex digits: enough to tell them apart, short enough to
            # keep the one-line CLI message readable (``sha256sum -c`` shows them whole)
            f"{path} is corrupt: its SHA-256 is {found[:16]}... but {sidecar.name} recorded {expected[:16]}... "
            "(the file was damaged, truncated or replaced since it was written); it was not used"
        )
    return True


def write_json(path: str | os.PathLike, payload: Any, *, indent: int | None = 2, checksum: bool = False) -> Path:
    """Write ``payload`` as JSON (sorted keys) atomically with :func:`atomic_write`.

    Parameters
    ----------
    path : str or path
    payload : JSON-serialisable
    indent : int or None
        Indentation; None writes one line (compact, for long lists of numbers).
    checksum : bool
        Record a SHA-256 sidecar (see :func:`atomic_write`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        If ``payload`` is not JSON-serialisable (nothing is written).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = write_json(pathlib.Path(tempfile.mkdtemp()) / "a.json", {"b": 1, "a": [1, 2]})
    >>> read_json(path)
    {'a': [1, 2], 'b': 1}
    """
    text = json.dumps(payload, indent=indent, sort_keys=True)  # fails before any file is touched
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), checksum=checksum)


def read_json(path: str | os.PathLike, *, name: str = "path") -> Any:
    """Read a JSON file, checked against its sidecar when it has one.

    Parameters
    ----------
    path : str or path
    name : str
        The argument's name, for messages about the path itself.

    Returns
    -------
    Any
        The parsed document.

    Raises
    ------
    TypeError
        If ``path`` is not a path.
    ValueError
        If ``path`` is a folder.
    FileNotFoundError
        If nothing is at ``path``.
    CorruptFileError
        If the file is empty, truncated, not UTF-8 or not JSON, or fails its checksum.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = path.write_text('{"a": ')
    >>> read_json(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neurodis.errors.CorruptFileError: .../a.json is not valid JSON (empty, truncated or garbled): ...
    """
    path = check_path(name, path, kind="file", must_exist=True)
    verify_file(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid JSON (empty, truncated or garbled): {err}") from err

