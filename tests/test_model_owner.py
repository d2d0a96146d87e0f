"""A model owner's run: their own trained model and a deletion request, no retrain oracle, nothing trained but
the unlearned model."""
import json

import pytest
import torch

from conftest import REPO, run_tool
from method_helpers import one_thread, trained_network  # noqa: F401

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'


@pytest.fixture(scope='module')
def owner_run(tmp_path_factory):
    """DELETE on the user's own DigitsCNN with ``retrain = None``; training a reference model would fail, and
    every network built and checkpoint loaded is counted."""
    import unlearn.training
    from tasks.classification.adapter import ClassificationTask
    folder = tmp_path_factory.mktemp('owner')
    torch.save(trained_network().state_dict(), folder / 'my_model.pth')
    counts = dict(built=0, loaded=[])

    def no_training(*args, **kwargs):
        raise AssertionError('a reference model was trained')

    def counted_build(self, model_cfg, build=ClassificationTask.build_network):
        counts['built'] += 1
        return build(self, model_cfg)

    def counted_load(network, path, load=unlearn.training.load_weights):
        counts['loaded'].append(str(path))
        return load(network, path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(unlearn.training, 'train_supervised', no_training)
        patch.setattr(unlearn.training, 'load_weights', counted_load)
        patch.setattr(ClassificationTask, 'build_network', counted_build)
        status, stdout, err = run_tool('unlearn.py', CONFIG, '--work-dir', folder / 'runs', '--cfg-options',
                                       f'original_checkpoint={folder / "my_model.pth"}', 'retrain=None',
                                       f'checkpoint_dir={folder / "cache"}')
    assert status == 0, err
    [run_dir] = (folder / 'runs').iterdir()
    return folder, run_dir, stdout, counts


def test_one_network_built_and_the_users_checkpoint_read_once(owner_run):
    folder, _, _, counts = owner_run
    assert counts == dict(built=1, loaded=[str(folder / 'my_model.pth')])


def test_nothing_is_trained_or_cached(owner_run):
    folder, run_dir, _, _ = owner_run
    assert not (folder / 'cache').exists(), 'nothing went into the checkpoint cache'
    meta = json.loads((run_dir / 'meta.json').read_text())
    assert meta['checkpoints']['retrain'] is None
    assert meta['checkpoints']['original'] == dict(path=str(folder / 'my_model.pth'), trained_in_this_run=False,
                                                   sha256=meta['checkpoints']['original']['sha256'])
    assert set(meta['wall_time_s']) == {'original_s', 'request_s', 'evaluate_reference_s', 'unlearn_s', 'evaluate_s'}
    assert meta['wall_time_s']['request_s'] == 0, 'a classification request is built from the config alone'


def test_the_class_is_forgotten_and_the_h_mean_still_measured(owner_run):
    _, run_dir, _, _ = owner_run
    metrics = json.loads((run_dir / 'metrics.json').read_text())
    assert metrics['retrain'] is None and metrics['original']['acc_ft'] >= 90
    assert metrics['acc_ft'] <= 5 and metrics['acc_rt'] >= 85
    assert metrics['h_mean'] is not None and metrics['h_mean'] >= 85
    assert 'redistribution_gap' not in metrics


def test_the_report_says_there_is_no_oracle(owner_run):
    _, run_dir, stdout, _ = owner_run
    report = (run_dir / 'report.md').read_text()
    assert '| Original |' in report and '| DELETE |' in report and '| Retrain |' not in report
    assert '- **retrain oracle**: none was trained or read (retrain = None' in report
    assert report in stdout


def test_tools_test_evaluates_without_an_oracle(owner_run, tmp_path):
    folder, run_dir, _, _ = owner_run
    status, stdout, err = run_tool('test.py', CONFIG, run_dir / 'unlearned.pth', '--out', tmp_path / 'rows.json',
                                   '--cfg-options', f'original_checkpoint={folder / "my_model.pth"}',
                                   'retrain=None', f'checkpoint_dir={folder / "cache"}')
    assert status == 0, err
    rows = json.loads((tmp_path / 'rows.json').read_text())
    assert list(rows) == ['Original', 'unlearned.pth']
    assert rows['unlearned.pth']['acc_ft'] == json.loads((run_dir / 'metrics.json').read_text())['acc_ft']


def test_tools_train_has_no_oracle_to_train(owner_run):
    folder, _, _, _ = owner_run
    status, _, err = run_tool('train.py', CONFIG, '--retrain', '--cfg-options', 'retrain=None',
                              f'checkpoint_dir={folder / "cache"}')
    assert status == 2 and err.strip() == ('error: this config has no retrain model: retrain = None, or the task '
                                           'has no oracle'), err
    assert not (folder / 'cache').exists()
