"""Bad input: one clear line on stderr, a non-zero exit, and no run folder left behind."""
import pytest
import torch

from conftest import REPO, run_tool

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'


def _run(tmp_path, *options):
    work_dir = tmp_path / 'runs'
    status, _, err = run_tool('unlearn.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
                              f'checkpoint_dir={tmp_path / "ckpt"}', *options)
    return status, err.strip(), work_dir


@pytest.mark.parametrize('options, message', [
    (["forget_classes=['thre']"], "unknown class name 'thre' in forget_classes (did you mean ['three']"),
    (['forget_classes=[]'], 'forget_classes is empty'),
    (['forget_classes=[12]'], 'out of range'),
    ([f'forget_classes={list(range(10))}'], 'erases every one of the 10 classes'),
    (['forget_clases=[3]'], "unknown config key 'forget_clases' (did you mean 'forget_classes'?)"),
    (['benchmark.seeds=[1]'], 'this is a benchmark config (it has a `benchmark` grid): run it with '
                               'python tools/benchmark.py'),
    (['method.type=DELET'], "unknown method type 'DELET' (did you mean 'DELETE'?)"),
    (['method.alpah=0.5'], "method 'DELETE'"),
    (['model.type=ResNet19'], "unknown model type 'ResNet19'"),
    (['task.dataset.type=CIFAR10', 'task.dataset.root=/nonexistent/cifar'], '/nonexistent/cifar'),
    (['original_checkpoint=/nonexistent/original.pth'], 'checkpoint not found: /nonexistent/original.pth'),
])
def test_bad_input_fails_early_with_one_line(tmp_path, options, message):
    status, err, work_dir = _run(tmp_path, *options)
    assert status == 2
    assert err.startswith('error: ') and len(err.splitlines()) == 1, err
    assert message in err
    assert not work_dir.exists() or not any(work_dir.iterdir()), 'no half-written run may remain'
    assert not (tmp_path / 'ckpt').exists(), 'nothing may be trained or cached on bad input'


def test_checkpoint_that_does_not_fit_the_model(tmp_path):
    from tasks.classification.models import DigitsCNN
    wrong = tmp_path / 'five_classes.pth'
    torch.save(DigitsCNN(num_classes=5).state_dict(), wrong)
    status, err, work_dir = _run(tmp_path, f'original_checkpoint={wrong}')
    assert status == 2 and len(err.splitlines()) == 1
    assert 'does not match the model DigitsCNN' in err and 'shape mismatch at fc.weight' in err


def test_missing_config_file(tmp_path):
    status, _, err = run_tool('unlearn.py', tmp_path / 'nope.py')
    assert status == 2 and err.strip() == f'error: config file not found: {tmp_path / "nope.py"}'
