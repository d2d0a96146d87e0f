"""Every shipped config resolves its _base_ chain, passes the config check and builds its model and method."""
from pathlib import Path

import pytest
from mmengine.config import Config

from conftest import REPO
from unlearn.apis import build_method
from unlearn.config import build_from, check_config
from unlearn.registry import MODELS

CLS_CONFIGS = sorted((REPO / 'configs' / 'cls').glob('*.py'))
METHOD_BASES = sorted((REPO / 'configs' / '_base_' / 'methods').glob('*.py'))


@pytest.mark.parametrize('path', CLS_CONFIGS, ids=lambda p: p.stem)
def test_classification_config_builds(path: Path):
    cfg = Config.fromfile(str(path))
    check_config(cfg)
    assert cfg.forget_classes, 'forget classes are always explicit'
    assert cfg.work_dir.endswith(path.stem), 'each experiment writes to its own folder'
    build_from(MODELS, dict(cfg.model, num_classes=10), 'model')
    build_method(cfg)


def test_leaf_config_overrides_only_what_differs():
    cfg = Config.fromfile(str(REPO / 'configs' / 'cls' / 'cifar10_forget_deer.py'))
    assert cfg.schedule.optim_wrapper.optimizer == dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=0.0)
    assert cfg.train_schedule.max_epochs == 150 and cfg.train_schedule.param_scheduler.step_size == 40
    assert cfg.task.dataset.image_size == 224 and cfg.model.stem == 'imagenet'


#: Methods that apply to one task only, built on that task's default instead of the classification one.
TASK_DEFAULTS = dict(nc_unlearn='backdoor/digits_badnet_forget_backdoor.py')


@pytest.mark.parametrize('path', METHOD_BASES, ids=lambda p: p.stem)
def test_every_method_config_builds_on_the_default(path: Path):
    cfg = Config.fromfile(str(REPO / 'configs' / TASK_DEFAULTS.get(path.stem, 'cls/digits_forget_3.py')))
    cfg.method = Config.fromfile(str(path)).method
    check_config(cfg)
    build_method(cfg)


def test_building_the_method_leaves_the_config_as_it_was():
    """SCRUB's own schedule is merged into a copy: the caller's config is not changed."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'cls' / 'digits_forget_3.py'))
    cfg.method = Config.fromfile(str(REPO / 'configs' / '_base_' / 'methods' / 'scrub.py')).method
    before = cfg.pretty_text
    method, effective = build_method(cfg)
    assert cfg.pretty_text == before
    assert effective.schedule.max_epochs == cfg.method.schedule.max_epochs != cfg.schedule.max_epochs
