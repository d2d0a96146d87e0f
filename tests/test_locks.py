"""Concurrent and killed runs: one training per cache entry, and no folder of a dead process left behind."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from mmengine.config import Config

from conftest import REPO, run_tool
from unlearn.locks import (OWNER_LOCK, UNLOCKED_GRACE_S, OwnedFolder, exclusive_lock, remove_abandoned,
                          remove_stale_locks)

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'


class _Log:
    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


def _wait_for(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f'timed out waiting for {what}'
        time.sleep(0.2)


def _tool(script: str, *args, out: Path) -> subprocess.Popen:
    """``tools/<script>`` in its own process (and process group), stdout and stderr into ``out``."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    with open(out, 'wb') as f:
        return subprocess.Popen([sys.executable, str(REPO / 'tools' / script), *map(str, args)], cwd=REPO, env=env,
                                stdout=f, stderr=subprocess.STDOUT, start_new_session=True)


def test_exclusive_lock_waits_for_its_holder_and_leaves_no_file(tmp_path):
    lock, events = tmp_path / 'entry.pth.lock', []

    def second():
        with exclusive_lock(lock, on_wait=lambda: events.append('waiting')):
            events.append('second holds it')

    with exclusive_lock(lock):
        thread = threading.Thread(target=second)
        thread.start()
        _wait_for(lambda: events, 10, 'the second taker to wait')
        events.append('first releases it')
    thread.join(10)
    assert events == ['waiting', 'first releases it', 'second holds it']
    assert not lock.exists()


def test_only_lock_files_nobody_holds_are_removed(tmp_path):
    (tmp_path / 'killed.pth.lock').touch()  # its holder was killed
    with exclusive_lock(tmp_path / 'live.pth.lock'):
        remove_stale_locks(tmp_path, '*.pth.lock')
        assert sorted(p.name for p in tmp_path.iterdir()) == ['live.pth.lock']


def test_remove_abandoned_spares_live_folders(tmp_path):
    live = OwnedFolder.create(tmp_path / '.live.partial')
    dead = tmp_path / '.dead.partial'  # a lock file nobody holds: its owner died
    dead.mkdir()
    (dead / OWNER_LOCK).touch()
    old = tmp_path / '.old.partial'  # no lock file (an older version made it), long untouched
    old.mkdir()
    os.utime(old, (time.time() - 2 * UNLOCKED_GRACE_S,) * 2)
    young = tmp_path / '.young.partial'  # no lock file yet: may be being created right now
    young.mkdir()
    (tmp_path / '.runner-abc').mkdir()  # another pattern
    log = _Log()
    assert remove_abandoned(tmp_path, '.*.partial', log) == [dead, old]
    assert live.path.is_dir() and young.is_dir() and (tmp_path / '.runner-abc').is_dir()
    assert len(log.warnings) == 2 and all('Removed' in w and 'left behind' in w for w in log.warnings)
    live.release()
    assert not (live.path / OWNER_LOCK).exists()


def test_a_folder_is_owned_exactly_while_its_process_lives(tmp_path):
    folder = tmp_path / '.runner-owned'
    owner = subprocess.Popen([sys.executable, '-c', 'import sys, time; from pathlib import Path; '
                              'from unlearn.locks import OwnedFolder; OwnedFolder.create(Path(sys.argv[1])); '
                              'time.sleep(600)', str(folder)], cwd=REPO)
    try:
        _wait_for(lambda: (folder / OWNER_LOCK).exists(), 60, 'the owner to lock its folder')
        assert remove_abandoned(tmp_path, '.runner-*', _Log()) == []
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    log = _Log()
    assert remove_abandoned(tmp_path, '.runner-*', log) == [folder] and not folder.exists()
    assert 'no live process holds its lock' in log.warnings[0]


def test_two_processes_train_a_cache_entry_once(tmp_path):
    """Both start on an empty cache while the entry is locked (so both surely wait); one trains, one reuses."""
    from unlearn.apis import load_experiment
    from unlearn.training import cached_model_path
    cache, options = tmp_path / 'cache', ['train_schedule.max_epochs=1']
    cfg = Config.fromfile(str(CONFIG))
    cfg.merge_from_dict(dict(checkpoint_dir=str(cache), train_schedule=dict(max_epochs=1)))
    request = load_experiment(cfg)
    entry = cached_model_path('original', cfg, request.task, request.request)
    cache.mkdir(exist_ok=True)
    outs = [tmp_path / 'a.out', tmp_path / 'b.out']
    with exclusive_lock(entry.with_name(f'{entry.name}.lock')):
        runs = [_tool('train.py', CONFIG, '--work-dir', cache, '--cfg-options', *options, out=out) for out in outs]
        _wait_for(lambda: all('waiting for it' in out.read_text() for out in outs), 300, 'both runs to wait')
    for run in runs:
        assert run.wait(600) == 0
    printed = [out.read_text() for out in outs]
    trained = [f'original model (trained): {entry}' in text for text in printed]
    reused = [f'original model (already cached): {entry}' in text for text in printed]
    assert sorted(trained) == [False, True] and reused == [not t for t in trained], printed
    assert sorted(p.name for p in cache.iterdir() if p.suffix == '.pth') == [entry.name]
    assert not list(cache.glob('.*')), 'no lock file, scratch or temporary file may remain'


def test_a_killed_run_leaves_nothing_the_next_run_does_not_remove(tmp_path):
    work_dir, cache = tmp_path / 'runs', tmp_path / 'cache'
    killed = _tool('unlearn.py', CONFIG, '--work-dir', work_dir, '--cfg-options', f'checkpoint_dir={cache}',
                   'train_schedule.max_epochs=50', out=tmp_path / 'killed.out')
    try:
        _wait_for(lambda: list(work_dir.glob('.*.partial')) and list(cache.glob('.runner-*')), 300,
                  'the run to stage its folder and train in the cache')
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    leftovers = list(work_dir.glob('.*.partial')) + list(cache.glob('.runner-*'))
    assert len(leftovers) == 2

    status, out, err = run_tool('unlearn.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
                                f'checkpoint_dir={cache}', 'train_schedule.max_epochs=1', 'schedule.max_epochs=1',
                                'schedule.curve_interval=0')
    assert status == 0, err[-3000:]
    for leftover in leftovers:
        assert not leftover.exists()
        assert f'Removed {leftover}, left behind by an earlier run' in out
    (run_dir,) = [p for p in work_dir.iterdir()]
    assert f'Removed {leftovers[0]}' in (run_dir / 'run.log').read_text()
    assert not (run_dir / OWNER_LOCK).exists()
    assert not list(cache.glob('.runner-*'))
