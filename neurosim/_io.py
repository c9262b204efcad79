"""File output that loses nothing: atomic writes, stale temporaries, writable directories, one run per directory.

* ``atomic_write(path, write)`` writes to a temporary file beside the target and renames it onto
  the target, so a reader sees the old file or the new one, never half of one. The temporary is
  named ``.neurosim-tmp-<name>-<random><suffix>`` (the suffix is the target's, because
  ``np.savez`` appends ``.npz`` to any other name) and the result gets the permissions a plain
  ``open()`` would give it (``0o666`` minus the umask; ``mkstemp`` alone makes ``0o600``).
* ``clean_stale_temporaries(directory)`` removes what a killed writer left behind.
* ``prepare_output_dir(directory)`` creates the directory and proves it writable before a long
  run starts, raising ``OutputDirError`` naming the path and the problem.
* ``RunLock(directory)`` keeps a second run from writing into the same directory at once (``flock``).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

TMP_PREFIX = ".neurosim-tmp-"
# What ``atomic_write`` wrote before it named its temporaries (neurosim ≤ 0.2: tempfile's
# default "tmp" + 8 random characters + ".tmp" + the target's suffix).
_LEGACY_TMP = re.compile(r"^tmp[a-z0-9_]{8}\.tmp\.(npz|json|png|md|html|csv|toml)$")
LOCK_NAME = ".neurosim.lock"


class OutputDirError(ValueError):
    """An output directory that cannot be used: names the path and the problem."""


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would set it for a moment,
    under any thread creating a file then); ``/proc/self/status`` has it since Linux 4.7."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: the only portable way, briefly set and restored
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path``; a failure leaves no file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def clean_stale_temporaries(directory: str | Path, target: str | None = None) -> list[str]:
    """Remove temporaries an interrupted ``atomic_write`` left in ``directory`` (only those of the
    file named ``target``, when given; else every neurosim temporary, including the 0.2 naming);
    returns their names."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for p in directory.iterdir():
        ours = p.name.startswith(f"{TMP_PREFIX}{target}-") if target else p.name.startswith(TMP_PREFIX)
        if p.is_file() and (ours or (target is None and _LEGACY_TMP.match(p.name))):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return sorted(removed)


def prepare_output_dir(directory: str | Path) -> Path:
    """Create ``directory`` (with parents) and prove it writable by writing and removing a file."""
    directory = Path(directory)
    try:
        if directory.exists() and not directory.is_dir():
            raise OutputDirError(
                f"output directory {directory}: is an existing file: allowed a directory (or a new path)"
            )
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=f"{TMP_PREFIX}probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        where = f" ({e.filename})" if e.filename and str(e.filename) != str(directory) else ""
        raise OutputDirError(
            f"output directory {directory}: cannot be created or written: {reason}{where}: allowed a writable directory"
        ) from None
    return directory


class RunLock:
    """``with RunLock(directory):`` — at most one neurosim run writes into ``directory``.

    An exclusive ``flock`` on ``directory/.neurosim.lock``, which holds the owner's pid (for the
    message). The kernel releases the lock when its process ends, however it ends, so a killed
    run leaves nothing stale; the file itself stays. Raises ``OutputDirError`` naming the other
    run's pid.
    """

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise OutputDirError(
                f"output directory {self.path.parent}: the lock file {self.path.name} cannot be opened "
                f"({e.strerror or e}): allowed a regular file there, or none"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputDirError(
                f"output directory {self.path.parent}: another neurosim run (pid {pid}) is writing to it: "
                "allowed one run per directory (wait for it, or choose another output directory)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing releases the lock
            self._fd = None
