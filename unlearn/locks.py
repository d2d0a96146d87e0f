"""File locks that the OS releases when their process dies, even on ``kill -9``.

Two uses: a cache entry is trained by one process at a time (:func:`exclusive_lock`), and a folder a process
works in (a run's ``.partial`` staging folder, mmengine's ``.runner-*`` scratch folder) carries a lock file
that process holds (:class:`OwnedFolder`), so a later run can tell a killed run's leftovers from a live
run's folders and remove only the former (:func:`remove_abandoned`).
"""
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Optional

try:
    import fcntl
except ImportError:  # Windows: no flock; nothing is locked and no folder is ever taken for abandoned
    fcntl = None

#: The lock file inside an owned folder.
OWNER_LOCK = '.owner.lock'
#: A matching folder without a lock file may be one being created right now (or from an older version that
#: made none): it counts as abandoned only once it is older than this.
UNLOCKED_GRACE_S = 60.0


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _still_at(fd: int, path: Path) -> bool:
    """Whether ``path`` is still the file open as ``fd`` (the holder of a lock removes its file on release)."""
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (at_path.st_dev, at_path.st_ino) == (opened.st_dev, opened.st_ino)


@contextmanager
def exclusive_lock(path: Path, on_wait: Optional[Callable[[], None]] = None) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if absent, removed on release); blocks while
    another process holds it, calling ``on_wait`` once first so the wait can be logged.

    The file is removed so that no lock file outlives its use; a waiter that then holds the lock on the
    removed file sees that ``path`` is no longer the file it locked, and locks again.
    """
    if fcntl is None:
        yield
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if not _try_lock(fd):
                if on_wait is not None:
                    on_wait()
                    on_wait = None
                fcntl.flock(fd, fcntl.LOCK_EX)
            if _still_at(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        os.unlink(path)  # while still holding it (see above)
        os.close(fd)


@contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Take the lock on the file ``path`` if it is free: yields whether it was taken (False also when the file
    was replaced meanwhile, as :func:`exclusive_lock` does on release). ``path`` must exist; it stays."""
    if fcntl is None:
        yield True
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        yield _try_lock(fd) and _still_at(fd, path)
    finally:
        os.close(fd)


def remove_stale_locks(parent: Path, pattern: str) -> None:
    """Remove the :func:`exclusive_lock` files ``parent/pattern`` that no process holds (a killed holder's).

    Safe at any time: only a file that is still in place and free is removed, and a process that has it open
    to lock it sees it is gone and locks again.
    """
    if fcntl is None:
        return
    for lock in Path(parent).glob(pattern):
        try:
            with try_lock(lock) as free:
                if free:
                    os.unlink(lock)
        except FileNotFoundError:  # released (and removed) meanwhile
            continue


class OwnedFolder:
    """A folder this process works in, marked as such by a lock on a file inside it.

    The lock is held until :meth:`release` or the process's death (the OS drops it then, even on kill -9).
    The lock file appears already locked (locked under another name, then renamed), so no other process can
    ever find it unlocked while the owner lives.
    """

    def __init__(self, path: Path):
        """Own ``path``, a folder this process has just created."""
        self.path = Path(path)
        self._fd = None
        if fcntl is None:
            return
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f'{OWNER_LOCK}.')
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.replace(tmp, self.path / OWNER_LOCK)
        self._fd = fd

    @classmethod
    def create(cls, path: Path) -> 'OwnedFolder':
        """Create ``path`` (and its parents; it must not exist yet) and own it."""
        Path(path).mkdir(parents=True)
        return cls(path)

    def release(self, now_at: Optional[Path] = None) -> None:
        """Stop owning the folder and remove its lock file (from ``now_at`` if the folder has been renamed
        there); call it after the folder was renamed or removed, never before, or a cleaner could take it."""
        if self._fd is None:
            return
        try:
            os.unlink(Path(now_at or self.path) / OWNER_LOCK)
        except FileNotFoundError:  # the folder is gone
            pass
        os.close(self._fd)
        self._fd = None


def _why_abandoned(folder: Path) -> Optional[str]:
    """Why no live process owns ``folder``, or None if one may."""
    lock = folder / OWNER_LOCK
    if lock.is_file():
        with try_lock(lock) as free:
            return 'no live process holds its lock (the process that made it was killed)' if free else None
    age = time.time() - folder.stat().st_mtime
    return f'it has no lock file and was last changed {age:.0f} s ago' if age >= UNLOCKED_GRACE_S else None


def remove_abandoned(parent: Path, pattern: str, logger) -> List[Path]:
    """Remove the folders ``parent/pattern`` that no live process owns; return them.

    A folder whose lock file nobody holds was left by a process that died; one without a lock file counts as
    abandoned once it is older than :data:`UNLOCKED_GRACE_S`. Each removal is logged as one warning line.
    """
    if fcntl is None:
        return []
    removed = []
    for folder in sorted(Path(parent).glob(pattern)):
        if not folder.is_dir() or folder.is_symlink():
            continue
        try:
            why = _why_abandoned(folder)
            if why is None:
                continue
            shutil.rmtree(folder)
        except FileNotFoundError:  # another process removed it first
            continue
        except OSError as e:
            logger.warning(f'Found {folder}, left behind by an earlier run, but could not remove it: {e}')
            continue
        logger.warning(f'Removed {folder}, left behind by an earlier run: {why}')
        removed.append(folder)
    return removed
