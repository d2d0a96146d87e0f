"""Shared fixtures: a quiet, offline environment and the digits default trained once per session."""
import contextlib
import importlib.util
import io
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'
sys.path.insert(0, str(REPO))

import tasks.classification  # noqa: E402,F401  (registers the task many tests build directly)


def load_benchmark(name: str):
    """``benchmarks/<name>.py`` imported as a module (the scripts are not a package), to test its pieces."""
    spec = importlib.util.spec_from_file_location(name, REPO / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(script: str, *args):
    """Run ``tools/<script>`` in-process as its command line does; return (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = [script, *map(str, args)]
    status = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(str(REPO / 'tools' / script), run_name='__main__')
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = old_argv
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope='session')
def digits_cache(tmp_path_factory) -> Path:
    """A checkpoint cache shared by the tests that run the digits default end to end."""
    return tmp_path_factory.mktemp('checkpoints')


@pytest.fixture(scope='session')
def digits_backdoor_run(tmp_path_factory):
    """``tools/unlearn.py`` on the backdoor default (digits) with an empty cache, once per session: (run folder,
    checkpoint folder holding its backdoored original, oracle and recovery)."""
    root = tmp_path_factory.mktemp('digits_backdoor')
    status, _, err = run_tool('unlearn.py', REPO / 'configs' / 'backdoor' / 'digits_badnet_forget_backdoor.py',
                              '--work-dir', root / 'runs', '--cfg-options', f'checkpoint_dir={root / "ckpt"}')
    assert status == 0, err
    [run_dir] = (root / 'runs').iterdir()
    return run_dir, root / 'ckpt'


@pytest.fixture(scope='session')
def prepared_cifar10(tmp_path_factory) -> Path:
    """Real CIFAR-10 unpacked from ../shared/data as ``{train,test}/<class>/*.jpg``, once per session (slow tests);
    skips when that data is absent (a user's machine does not have it)."""
    if not (SHARED_DATA / 'cifar10_jpeg_full.npz').is_file():
        pytest.skip('../shared/data/cifar10_jpeg_full.npz is absent')
    out = tmp_path_factory.mktemp('prepared')
    subprocess.run([sys.executable, str(SHARED_DATA.parent / 'tools' / 'prepare_data.py'), str(out), 'cifar10'],
                   check=True, capture_output=True)
    return out / 'cifar10'


@pytest.fixture
def recorded_datasets(monkeypatch) -> list:
    """Every dataset a run asks the task for a dataloader over: training loops and setup / edit passes."""
    from tasks.classification.adapter import ClassificationTask
    seen = []
    original = ClassificationTask.dataloader

    def recording(self, dataset, batch_size, shuffle):
        seen.append(dataset)
        return original(self, dataset, batch_size, shuffle)

    monkeypatch.setattr(ClassificationTask, 'dataloader', recording)
    return seen
