"""What only some methods need is declared, and a task without it is refused generically, in one line; the
classifier is the task's ``classifier(network)``, whatever the layer is called."""
import copy

import pytest
import torch
from torch import nn

from conftest import REPO, run_tool
from method_helpers import FORGET, NoPixelsTask, digits_request, digits_task, method_data, one_thread, run  # noqa: F401
from tasks.classification.adapter import ClassificationTask
from unlearn.apis import freeze_classifier
from unlearn.capabilities import PixelImages, Relabelling, SampleLabels, check_capabilities
from unlearn.errors import UnlearnError
from unlearn.methods import (L2UL, SCRUB, BadTeacher, BoundaryExpand, BoundaryShrink, DELETE, Finetune,
                             FisherForgetting, InfluenceUnlearn, NegativeGradient, RandomLabel, SalUn)
from unlearn.methods.boundary_expand import ShadowClassifier
from unlearn.model import UnlearnModel
from unlearn.registry import TASKS
from unlearn.tensor_task import TensorTask

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'


@TASKS.register_module(force=True)
class DigitsWithoutPixels(TensorTask):
    """The digits task without the PixelImages capability: the same data, requests and evaluator."""
    evaluator = 'ClassificationEvaluator'

    def __init__(self, dataset: dict, eval_batch_size: int = 256, num_workers: int = 0,
                 eval_train_augmented: bool = True, mia_seed: int = 0):
        self.inner = ClassificationTask(dataset)
        super().__init__(self.inner.class_names, num_workers)
        self.eval_batch_size, self.eval_train_augmented, self.mia_seed = eval_batch_size, eval_train_augmented, mia_seed

    def fingerprint(self):
        return dict(self.inner.fingerprint(), capabilities='no pixels')

    def build_network(self, model_cfg):
        return self.inner.build_network(model_cfg)

    def forget_request(self, cfg, original=None):
        return self.inner.forget_request(cfg, original)


@pytest.mark.parametrize('method, needs', [
    (BoundaryShrink(), PixelImages.provides), (L2UL(), PixelImages.provides),
    (RandomLabel(), 'replacing the labels of its samples'), (SalUn(), 'replacing the labels of its samples'),
    (FisherForgetting(), 'one class label per sample'), (InfluenceUnlearn(), 'one class label per sample')])
def test_a_task_without_a_capability_is_refused_by_name(method, needs):
    with pytest.raises(UnlearnError) as caught:
        check_capabilities(NoPixelsTask(), method)
    assert str(caught.value) == (f'{type(method).__name__} needs {needs}, which the NoPixelsTask task does not '
                                 'provide')


@pytest.mark.parametrize('method', [DELETE(), NegativeGradient(), Finetune(), BadTeacher(), SCRUB(),
                                    BoundaryExpand()])
def test_methods_on_logits_and_labels_alone_need_no_capability(method):
    assert method.requires == ()
    check_capabilities(NoPixelsTask(), method)


def test_the_classification_task_has_every_capability():
    assert all(isinstance(digits_task(), c) for c in (PixelImages, Relabelling, SampleLabels))


def test_the_run_refuses_a_method_the_task_cannot_serve_before_anything_is_trained(tmp_path):
    config = tmp_path / 'boundary_shrink_without_pixels.py'
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\nmethod = dict(_delete_=True, type='BoundaryShrink')\n")
    status, _, err = run_tool('unlearn.py', config, '--work-dir', tmp_path / 'runs', '--cfg-options',
                              'task.type=DigitsWithoutPixels', f'checkpoint_dir={tmp_path / "ckpt"}')
    assert status == 2, err
    assert err.strip() == ("error: method 'BoundaryShrink' cannot run here: BoundaryShrink needs images in pixel "
                           'space behind a per-channel normalisation, which the DigitsWithoutPixels task does not '
                           'provide')
    assert not (tmp_path / 'ckpt').exists() and not (tmp_path / 'runs').exists()


class LogitsHeadCNN(nn.Module):
    """A network whose classifier is called ``logits`` (as facenet-pytorch's InceptionResnetV1's is)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.logits = nn.Linear(32, num_classes)

    def forward(self, x):
        return self.logits(self.body(x))


def _logits_head_model(method) -> UnlearnModel:
    torch.manual_seed(0)
    return UnlearnModel(LogitsHeadCNN(), digits_task(), method, digits_request())


def test_the_classifier_is_found_whatever_its_name():
    network = LogitsHeadCNN()
    assert digits_task().classifier(network) is network.logits
    assert not [name for name, _ in network.named_parameters() if 'fc' in name]


def test_freeze_classifier_freezes_a_head_called_logits(tmp_path):
    model = _logits_head_model(DELETE())
    freeze_classifier(digits_task(), model.student)
    head, body = copy.deepcopy(model.student.logits.state_dict()), copy.deepcopy(model.student.body.state_dict())
    run(model, method_data(model.method), tmp_path)
    assert all(torch.equal(head[k], v) for k, v in model.student.logits.state_dict().items())
    assert any(not torch.equal(body[k], v) for k, v in model.student.body.state_dict().items())


def test_boundary_expand_widens_and_prunes_a_head_called_logits(tmp_path):
    method = BoundaryExpand()
    model = _logits_head_model(method)
    method.check(digits_task(), model.student)
    before = model.student.logits.weight.detach().clone()
    run(model, method_data(method), tmp_path)
    head = model.student.logits
    assert type(head) is nn.Linear and head.out_features == 10, 'the shadow class is pruned again'
    assert not isinstance(head, ShadowClassifier)
    assert not torch.equal(head.weight, before), 'the head trained toward the shadow class'


def test_boundary_expand_refuses_a_classifier_that_is_not_linear():
    class ConvHeadTask(NoPixelsTask):
        def classifier(self, network):
            return network[0]

    with pytest.raises(UnlearnError, match='needs an nn.Linear classifier .* the classifier of Sequential is Conv2d'):
        BoundaryExpand().check(ConvHeadTask(), nn.Sequential(nn.Conv2d(3, 4, 1)))
