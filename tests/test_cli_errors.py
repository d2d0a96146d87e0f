"""Bad input, as a new user and as a hostile tester would give it.

Every case must end with exit status 2 and exactly one line, ``error: ...``, and nothing else printed; no run
folder, no ``.partial`` folder, no new file in the checkpoint cache, and a work dir the run created is gone.
"""
import os
import pickle
import sys
import subprocess
from pathlib import Path

import pytest
import torch

from conftest import REPO, run_tool

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'


class _Payload:
    """A pickle that runs a shell command when it is loaded (it must never be)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def _digits_state(num_classes: int = 10) -> dict:
    from tasks.classification.models import DigitsCNN
    return DigitsCNN(num_classes=num_classes).state_dict()


def _write_config(tmp_path, body: str) -> Path:
    path = tmp_path / 'bad_config.py'
    path.write_text(body)
    return path


def _checkpoint(kind):
    """A case whose original_checkpoint is a bad file made by ``kind(path)``."""
    def setup(tmp_path):
        path = tmp_path / 'user.pth'
        kind(path)
        return [f'original_checkpoint={path}']
    return setup


def _zero_bytes(path):
    path.write_bytes(b'')


def _truncated(path):
    torch.save(_digits_state(), path)
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def _random_text(path):
    path.write_text('these are not the weights you are looking for\n' * 20)


def _wrong_architecture(path):
    from tasks.classification.models import CifarResNet
    torch.save(CifarResNet(num_classes=10).state_dict(), path)


def _crafted_pickle(path):
    with open(path, 'wb') as f:
        pickle.dump(_Payload(path.parent / 'MARKER'), f)


def _swapped_cache_file(tmp_path):
    """A cached original whose file no longer matches the SHA-256 in its sidecar."""
    from tools._common import load_config
    from unlearn.apis import load_experiment
    from unlearn.training import ORIGINAL, cached_model_path
    cfg = load_config(str(CONFIG), dict(checkpoint_dir=str(tmp_path / 'ckpt')))
    request = load_experiment(cfg)
    path = cached_model_path(ORIGINAL, cfg, request.task, request.request)
    path.parent.mkdir(parents=True)
    torch.save(_digits_state(), path)
    path.with_suffix('.json').write_text('{"kind": "original", "sha256": "' + '0' * 64 + '"}\n')
    return []


def _work_dir_is_a_file(tmp_path):
    (tmp_path / 'a_file').write_text('not a folder')
    return ['--work-dir', tmp_path / 'a_file' / 'runs']


def _checkpoint_dir_is_a_file(tmp_path):
    (tmp_path / 'a_file').write_text('not a folder')
    return [f'checkpoint_dir={tmp_path / "a_file"}']


def _unwritable_work_dir(tmp_path):
    """A folder no one may write in, root included: immutable (chattr +i), or read-only sysfs without it."""
    folder = tmp_path / 'immutable'
    folder.mkdir()
    if subprocess.run(['chattr', '+i', str(folder)], capture_output=True).returncode != 0:
        return ['--work-dir', '/sys/unlearn-runs']
    return ['--work-dir', folder / 'runs']


def _config_file(body):
    def setup(tmp_path):
        return ['CONFIG', _write_config(tmp_path, body)]
    return setup


def _missing_config(tmp_path):
    return ['CONFIG', tmp_path / 'nope.py']


def _benchmark_config(tmp_path):
    return ['CONFIG', REPO / 'configs' / 'benchmarks' / 'digits_table1.py']


# (id, command-line options or a setup(tmp_path) returning them, a fragment the one line must contain)
CASES = [
    ('missing config', _missing_config, 'config file not found'),
    ('config body assert False', _config_file('assert False\n'), 'AssertionError (an assert statement failed)'),
    ('config syntax error', _config_file('task = dict(\n'), 'cannot read config'),
    ('empty config', _config_file(''), 'config is missing'),
    ('benchmark config', _benchmark_config, 'this is a benchmark config'),
    ('top-level typo', ['forget_clases=[3]'], "unknown config key 'forget_clases' (did you mean 'forget_classes'?)"),
    ('class name typo', ["forget_classes=['thre']"], "unknown class name 'thre' in forget_classes (did you mean"),
    ('no forget class', ['forget_classes=[]'], 'forget_classes is empty'),
    ('class index out of range', ['forget_classes=[12]'], 'out of range'),
    ('every class', [f'forget_classes={list(range(10))}'], 'erases every one of the 10 classes'),
    ('class twice', ['forget_classes=[3,3]'], 'listed twice'),
    ('schedule key typo', ['schedule.max_epoch=2'], "'schedule.max_epoch' (did you mean 'schedule.max_epochs'?)"),
    ('train_schedule key typo', ['train_schedule.max_epoch=2'],
     "'train_schedule.max_epoch' (did you mean 'train_schedule.max_epochs'?)"),
    ('method argument typo', ['method.alpah=0.5'], "'method.alpah' (did you mean 'method.alpha'?)"),
    ('model argument typo', ['model.num_clases=10'], "'model.num_clases' (did you mean 'model.num_classes'?)"),
    ('task argument typo', ['task.eval_batch_sise=64'],
     "'task.eval_batch_sise' (did you mean 'task.eval_batch_size'?)"),
    ('dataset argument typo', ['task.dataset.imagesize=8'],
     "'task.dataset.imagesize' (did you mean 'task.dataset.image_size'?)"),
    ('optimizer argument typo', ['schedule.optim_wrapper.optimizer.lrr=0.1'],
     "'schedule.optim_wrapper.optimizer.lrr' (did you mean 'schedule.optim_wrapper.optimizer.lr'?)"),
    ('scheduler argument typo', ['train_schedule.param_scheduler.step_sise=3'],
     "(did you mean 'train_schedule.param_scheduler.step_size'?)"),
    ("method's own schedule typo", ['method.schedule.max_epoch=3'],
     "'method.schedule.max_epoch' (did you mean 'method.schedule.max_epochs'?)"),
    ('unknown method', ['method.type=DELET'], "unknown method type 'DELET' (did you mean 'DELETE'?)"),
    ('unknown model', ['model.type=ResNet19'], "unknown model type 'ResNet19'"),
    ('negative lr', ['schedule.optim_wrapper.optimizer.lr=-0.01'], 'optimizer.lr = -0.01: it must be a number > 0'),
    ('zero training lr', ['train_schedule.optim_wrapper.optimizer.lr=0'], 'nothing would be learned'),
    ('zero batch size', ['schedule.batch_size=0'], 'schedule.batch_size = 0: it must be an integer >= 1'),
    ('negative training batch size', ['train_schedule.batch_size=-4'], 'train_schedule.batch_size = -4'),
    ('fractional batch size', ['schedule.batch_size=2.5'], 'schedule.batch_size = 2.5'),
    ('zero unlearning epochs', ['schedule.max_epochs=0'], 'DELETE trains, so it needs at least one epoch'),
    ('zero training epochs', ['train_schedule.max_epochs=0'], 'train_schedule.max_epochs = 0'),
    ('negative curve interval', ['schedule.curve_interval=-1'], 'schedule.curve_interval = -1'),
    ('zero eval batch size', ['task.eval_batch_size=0'], 'eval_batch_size = 0'),
    ('seed not an integer', ["seed='abc'"], "seed = 'abc': it must be an integer"),
    ('missing dataset folder', ['task.dataset.type=CIFAR10', 'task.dataset.root=/nonexistent/cifar'],
     '/nonexistent/cifar'),
    ('work dir is a file', _work_dir_is_a_file, 'is a file, not a folder'),
    ('work dir not writable', _unwritable_work_dir, 'cannot write'),
    ('checkpoint dir is a file', _checkpoint_dir_is_a_file, 'is a file, not a folder'),
    ('missing checkpoint', ['original_checkpoint=/nonexistent/original.pth'],
     'original_checkpoint: checkpoint not found: /nonexistent/original.pth'),
    ('zero-byte checkpoint', _checkpoint(_zero_bytes), 'user.pth'),
    ('truncated checkpoint', _checkpoint(_truncated), 'user.pth'),
    ('random-text checkpoint', _checkpoint(_random_text), 'user.pth'),
    ('wrong-architecture checkpoint', _checkpoint(_wrong_architecture), 'does not match the model DigitsCNN'),
    ('fewer classes checkpoint', _checkpoint(lambda p: torch.save(_digits_state(5), p)),
     'shape mismatch at fc.weight'),
    ('crafted pickle checkpoint', _checkpoint(_crafted_pickle), 'user.pth'),
    ('swapped cache file', _swapped_cache_file, 'is not the file its record'),
    ('retrain typo', ["retrain='none'"], "retrain = 'none': use 'train' (obtain the retrain oracle) or None"),
    ('no oracle but its checkpoint', ['retrain=None', 'retrain_checkpoint=x.pth'],
     'retrain = None runs without an oracle, yet retrain_checkpoint is set'),
    ('custom_imports not a list', ["custom_imports.imports=tasks.classification"],
     "custom_imports = {'imports': 'tasks.classification'}: it must be dict(imports=['tasks.<name>', ...])"),
    ('custom_imports missing package', ["custom_imports.imports=['tasks.classification','tasks.nope']"],
     "custom_imports: cannot import tasks.nope: No module named 'tasks.nope'"),
]


def _files(folder: Path) -> set:
    return {p.relative_to(folder) for p in folder.rglob('*')} if folder.exists() else set()


@pytest.fixture
def unlock(tmp_path):
    yield
    for folder in tmp_path.rglob('immutable'):
        subprocess.run(['chattr', '-i', str(folder)], capture_output=True)


@pytest.mark.parametrize('setup, message', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_one_line_and_leaves_nothing(tmp_path, capfd, unlock, setup, message):
    cache, work_dir = tmp_path / 'ckpt', tmp_path / 'runs'
    options = setup(tmp_path) if callable(setup) else list(setup)
    config = CONFIG
    if options[:1] == ['CONFIG']:
        config, options = options[1], options[2:]
    if options[:1] == ['--work-dir']:
        work_dir, options = Path(options[1]), options[2:]
    cache_before = _files(cache)
    status, out, err = run_tool('unlearn.py', config, '--work-dir', work_dir, '--cfg-options',
                                f'checkpoint_dir={cache}', *options)
    captured = capfd.readouterr()  # anything written around Python's streams (loggers, warnings, C code)
    output = out + err + captured.out + captured.err
    assert status == 2, output
    assert output.startswith('error: ') and output.count('\n') == 1 and err == output, output
    assert message in output
    assert not (tmp_path / 'MARKER').exists(), 'a checkpoint ran code'
    assert not work_dir.exists() or not any(work_dir.iterdir()), 'no run folder and no .partial folder'
    if not work_dir.parent.exists() or work_dir.parent == tmp_path:
        assert not work_dir.exists(), 'a work dir the run created is removed again'
    assert _files(cache) == cache_before, 'nothing may be trained or cached on bad input'


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_a_checkpoint_path_given_on_the_command_line_is_named_as_such(tmp_path, capfd):
    status, out, err = run_tool('test.py', CONFIG, tmp_path / 'nope.pth')
    assert status == 2 and err.count('\n') == 1 and not out
    assert err.startswith(f'error: checkpoint not found: {tmp_path / "nope.pth"}')
    assert 'config' not in err


def test_the_seg_default_without_data_prints_exactly_one_line():
    """What a new user gets from the segmentation command of the README on a machine without VOC: a fresh
    process, so import-time warnings would show."""
    if (REPO / 'data' / 'VOCdevkit').exists():
        pytest.skip('VOC is installed here: the command would run')
    result = subprocess.run([sys.executable, 'tools/unlearn.py', 'configs/seg/voc_forget_dog.py',
                             '--work-dir', '/nonexistent/never-written'], cwd=REPO, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONWARNINGS=''))
    assert result.returncode == 2
    assert result.stdout == '' and result.stderr.count('\n') == 1 and result.stderr.startswith('error: '), \
        result.stderr
    assert 'VOCdevkit/VOC2012' in result.stderr
