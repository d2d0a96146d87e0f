"""Run folders: written hidden, renamed into place only when complete, never overwritten, never half-left."""
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from mmengine.dist import barrier, broadcast_object_list, is_main_process
from mmengine.logging import MMLogger

from ..config_check import first_missing
from ..engine import init_distributed
from ..locks import OwnedFolder, remove_abandoned


def staging_dir(run_dir: Path) -> Path:
    """The hidden folder a run is written into; renamed to ``run_dir`` only when complete."""
    return run_dir.parent / f'.{run_dir.name}.partial'


def unfinished_runs(work_dir: Path) -> List[Path]:
    """The staging folders under ``work_dir``: runs in progress, or left behind by a run that was killed."""
    return sorted(p for p in work_dir.glob(staging_dir(Path('*')).name) if p.is_dir())


def _new_run_dir(work_dir: Path, name: str) -> Path:
    """A fresh, unused folder name: runs are never overwritten."""
    stem = f'{time.strftime("%Y%m%d_%H%M%S")}_{name}'
    run_dir, n = work_dir / stem, 1
    while run_dir.exists() or staging_dir(run_dir).exists():
        n += 1
        run_dir = work_dir / f'{stem}_{n}'
    return run_dir


def _remove_created(folder: Path, created: Optional[Path]) -> None:
    """Remove ``folder`` and its parents up to ``created`` while they are empty: a failed run leaves no
    folder it made."""
    while created is not None:
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == created:
            return
        folder = folder.parent


@contextmanager
def staged_run(work_dir: Path, name: str, launcher: str = 'none') -> Iterator[Tuple[Path, Path, MMLogger]]:
    """Yield ``(run_dir, staging, logger)``: write the run into ``staging``, logged to ``staging/run.log``.

    When the block completes, ``staging`` becomes ``run_dir``; when it raises, ``staging`` and any folder it
    created are removed. Every rank of a distributed run gets the same folder; rank 0 alone writes."""
    init_distributed(launcher)
    work_dir = Path(work_dir)
    created = first_missing(work_dir)
    run_dir = [_new_run_dir(work_dir, name) if is_main_process() else None]
    broadcast_object_list(run_dir)
    run_dir = run_dir[0]
    staging = staging_dir(run_dir)
    owner = OwnedFolder.create(staging) if is_main_process() else None  # tells it from a killed run's leftovers
    barrier()
    # Named by the full path: two work dirs can hold runs of the same name started in the same second.
    logger = MMLogger.get_instance(f'unlearn-{run_dir}', logger_name='unlearn', log_level='INFO',
                                   log_file=str(staging / 'run.log') if is_main_process() else None,
                                   file_mode='a')
    if owner:
        remove_abandoned(work_dir, staging_dir(Path('*')).name, logger)
    try:
        yield run_dir, staging, logger
    except BaseException:
        logger.error(f'Run failed; removing the unfinished folder {staging}')
        for handler in logger.handlers:
            handler.close()
        if owner:
            shutil.rmtree(staging, ignore_errors=True)
            owner.release()
            _remove_created(work_dir, created)
        raise
    for handler in logger.handlers:
        handler.flush()
    barrier()
    if owner:
        staging.replace(run_dir)
        owner.release(now_at=run_dir)  # after the rename: until then, a cleaner must see it owned
    barrier()  # the returned folder exists for every rank
    logger.info(f'Run written to {run_dir}')
