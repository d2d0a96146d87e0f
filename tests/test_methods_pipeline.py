"""Every baseline through the real CLI on the embedded digits default, with its config from
configs/_base_/methods: it runs, is marked "(R)" where it reads remaining data, and a forget-only method
is handed no remaining data at all (checked through every dataloader the run builds)."""
import json

import pytest
from mmengine.config import Config

from conftest import REPO, run_tool
from method_helpers import FORGET, one_thread, true_labels  # noqa: F401

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'
METHOD_CONFIGS = REPO / 'configs' / '_base_' / 'methods'
BASELINES = ['random_label', 'negative_gradient', 'finetune', 'boundary_shrink', 'boundary_expand', 'influence',
             'influence_woodfisher', 'l2ul', 'l2ul_importance', 'bad_teacher', 'bad_teacher_retain', 'salun',
             'salun_retain', 'fisher', 'scrub']
SHORT = ['schedule.max_epochs=1', 'schedule.batch_size=128', 'schedule.curve_interval=0']
FASTER = {'influence_woodfisher': ['method.woodfisher_samples=50']}


@pytest.fixture(scope='module')
def cached_models(digits_cache):
    """The original model and the oracle, trained (or found) once before any dataloader is recorded."""
    from unlearn.apis import prepare_models
    cfg = Config.fromfile(str(CONFIG))
    cfg.checkpoint_dir = str(digits_cache)
    prepare_models(cfg)
    return digits_cache


def _leaf_config(tmp_path, name: str):
    """The digits default with the method of ``configs/_base_/methods/<name>.py`` (its own epochs cut to 1)."""
    method = Config.fromfile(str(METHOD_CONFIGS / f'{name}.py')).method.to_dict()
    if 'schedule' in method:
        method['schedule']['max_epochs'] = 1
    path = tmp_path / f'digits_forget_3_{name}.py'
    path.write_text(f'_base_ = [{str(CONFIG)!r}]\nmethod = {dict(_delete_=True, **method)!r}\n')
    return path


@pytest.mark.parametrize('name', BASELINES)
def test_every_baseline_runs_end_to_end_reading_only_its_data(name, tmp_path, cached_models, recorded_datasets):
    status, stdout, err = run_tool('unlearn.py', _leaf_config(tmp_path, name), '--work-dir', tmp_path / 'runs',
                                   '--cfg-options', f'checkpoint_dir={cached_models}', *SHORT, *FASTER.get(name, []))
    assert status == 0, err
    [run_dir] = (tmp_path / 'runs').iterdir()
    metrics = json.loads((run_dir / 'metrics.json').read_text())
    assert all(0.0 <= metrics[k] <= 100.0 for k in ('acc_f', 'acc_r', 'acc_ft', 'acc_rt', 'mia'))
    meta = json.loads((run_dir / 'meta.json').read_text())
    uses_remain = meta['method_uses_remain_data']
    row = f"| {meta['method']['type']}{' (R)' if uses_remain else ''} |"
    assert row in stdout and row in (run_dir / 'report.md').read_text(), 'grey rows are marked (R)'
    read = set().union(*(true_labels(d) for d in recorded_datasets))
    if uses_remain:
        assert read - set(FORGET), f'{name} declares remaining data but never read any'
    else:
        assert read == set(FORGET), f'forget-only {name} read classes {sorted(read)}'
