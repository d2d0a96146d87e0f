"""Registries for everything a config can name with ``type=``.

Follows mmseg's layout: one registry per kind of thing, children of mmengine's where mmengine has one, and
modules register themselves on import. The core registers its methods (found through ``locations``); a task
package registers its adapter, evaluator, models and datasets when a config imports it with
``custom_imports = dict(imports=['tasks.<name>'])``, so the core never imports a task.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

#: Unlearning methods (DELETE and the baselines): ``method = dict(type='DELETE', ...)``.
METHODS = Registry('unlearning method', locations=['unlearn.methods'])
#: Task adapters (classification, segmentation, ...): ``task = dict(type='ClassificationTask', ...)``.
TASKS = Registry('task adapter')
#: Task evaluators (metrics, report columns, figures): a task names its own; ``evaluator = dict(type=...)``.
EVALUATORS = Registry('task evaluator')
#: Networks a task can build: ``model = dict(type='ResNet18', ...)``.
MODELS = Registry('model', parent=MMENGINE_MODELS)
#: Dataset builders a task can call: ``task.dataset = dict(type='CIFAR10', root=...)``.
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS)
