"""Registries for everything a config can name with ``type=``.

Follows mmseg's layout: one registry per kind of thing, modules register themselves on import, and
:func:`register_all_modules` imports them all so a config can be built from a fresh process.
"""
from mmengine.registry import Registry

#: Unlearning methods (DELETE and the baselines): ``method = dict(type='DELETE', ...)``.
METHODS = Registry('unlearning method')
#: Task adapters (classification, segmentation, ...): ``task = dict(type='ClassificationTask', ...)``.
TASKS = Registry('task adapter')
#: Networks a task can build: ``model = dict(type='ResNet18', ...)``.
MODELS = Registry('model')
#: Dataset builders a task can call: ``task.dataset = dict(type='CIFAR10', root=...)``.
DATASETS = Registry('dataset')


def register_all_modules() -> None:
    """Import every module that registers something, so configs can name them."""
    import tasks  # noqa: F401  (registers task adapters, models and datasets)
    import unlearn.methods  # noqa: F401
