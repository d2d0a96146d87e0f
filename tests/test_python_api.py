"""The Python API (``from unlearn import unlearn``): a plain model and DataLoader, no config, the CLI's method code."""
import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.device import get_device
from mmengine.registry import FUNCTIONS
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, default_collate

from unlearn import driver, unlearn
from unlearn.errors import UnlearnError
from unlearn.methods import DELETE

FORGET = 3


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """A 64-input MLP gains nothing from intra-op threads; on a shared machine their spinning costs a lot."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def digits():
    """sklearn's digits as flat [0, 1] vectors: a fixed 1400 / 397 train / test split."""
    x, y = load_digits(return_X_y=True)
    x, y = torch.tensor(x, dtype=torch.float32) / 16, torch.tensor(y)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return dict(train=(x[order[:1400]], y[order[:1400]]), test=(x[order[1400:]], y[order[1400:]]))


@pytest.fixture(scope='module')
def trained(digits):
    """A small MLP trained for 20 epochs (~97 % test accuracy on the remaining classes, ~91 % on class 3)."""
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1, momentum=0.9)
    for _ in range(20):
        for inputs, labels in DataLoader(TensorDataset(*digits['train']), batch_size=64, shuffle=True):
            optimizer.zero_grad()
            nn.functional.cross_entropy(network(inputs), labels).backward()
            optimizer.step()
    return network.eval()


def _loader(x, y, keep_forget: bool, batch_size=32, **kwargs) -> DataLoader:
    chosen = (y == FORGET) == keep_forget
    return DataLoader(TensorDataset(x[chosen], y[chosen]), batch_size=batch_size, shuffle=True, **kwargs)


@pytest.fixture
def forget_loader(digits):
    return _loader(*digits['train'], keep_forget=True)


def _accuracy(network, x, y, forget: bool) -> float:
    chosen = (y == FORGET) == forget
    device = next(network.parameters()).device
    with torch.no_grad():
        return (network(x[chosen].to(device)).argmax(1).cpu() == y[chosen]).float().mean().item()


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


def test_delete_forgets_the_class_and_keeps_the_rest_on_a_new_model(trained, digits, forget_loader):
    before = copy.deepcopy(trained)
    assert _accuracy(trained, *digits['test'], forget=True) > 0.85
    unlearned = unlearn(trained, forget_loader, [FORGET], method='DELETE', epochs=20, lr=0.01)
    assert unlearned is not trained and _same_weights(trained, before) and not trained.training
    assert not unlearned.training  # the mode the given model was in
    assert next(unlearned.parameters()).device.type == get_device()
    unlearned.eval()
    # Measured: 0.0 forget (train and test), 0.958 remain test (0.975 before), 0.983 remain train.
    assert _accuracy(unlearned, *digits['test'], forget=True) <= 0.05
    assert _accuracy(unlearned, *digits['train'], forget=True) <= 0.05
    assert _accuracy(unlearned, *digits['test'], forget=False) >= 0.90
    assert _accuracy(unlearned, *digits['train'], forget=False) >= 0.93


def test_bf16_unlearns_as_fp32_does(trained, digits, forget_loader):
    """The same bars as in fp32 (above), with the forward passes in bfloat16 and the weights left float32."""
    unlearned = unlearn(trained, forget_loader, [FORGET], method='DELETE', epochs=20, lr=0.01,
                        precision='bf16').eval()
    assert next(unlearned.parameters()).dtype == torch.float32
    assert _accuracy(unlearned, *digits['test'], forget=True) <= 0.05
    assert _accuracy(unlearned, *digits['test'], forget=False) >= 0.90


def test_runs_the_cli_method_code_through_the_driver(trained, forget_loader, monkeypatch, tmp_path):
    """The API builds the registered method and hands it to the CLI's driver; the result is that run's student."""
    calls = []
    real = driver.run_method

    def spy(model, method, data, schedule, **kwargs):
        calls.append((model, method, data, schedule, kwargs))
        return real(model, method, data, schedule, **kwargs)

    monkeypatch.setattr(driver, 'run_method', spy)
    unlearned = unlearn(trained, forget_loader, [FORGET], epochs=2, lr=0.01, work_dir=tmp_path, temperature=2.0)
    (model, method, data, schedule, kwargs), = calls
    assert type(method) is DELETE and method.temperature == 2.0
    assert unlearned is model.student and model.request.forget_classes == [FORGET]
    assert data.forget is forget_loader.dataset
    with pytest.raises(RuntimeError, match="forget-only"):
        data.remain  # DELETE is never given remaining data
    assert schedule == dict(max_epochs=2, batch_size=32, optim_wrapper=dict(
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0)))
    assert kwargs['seed'] == 2022 and kwargs['log_file'] == tmp_path / 'unlearn.log'
    assert 'loss_delete' in (tmp_path / 'unlearn.log').read_text()
    assert [p.name for p in tmp_path.iterdir()] == ['unlearn.log']  # the Runner's scratch folder is gone


def test_torchvision_model_runs_one_epoch_and_keeps_its_architecture():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    before = copy.deepcopy(model)
    images, labels = torch.randn(8, 3, 32, 32), torch.full((8,), FORGET)
    loader = DataLoader(TensorDataset(images, labels), batch_size=4)
    unlearned = unlearn(model, loader, forget_classes=[FORGET], epochs=1)
    assert type(unlearned) is torchvision.models.ResNet and _same_weights(model, before)
    shapes = [{k: v.shape for k, v in network.state_dict().items()} for network in (unlearned, before)]
    assert shapes[0] == shapes[1]
    assert not torch.equal(unlearned.conv1.weight.cpu(), model.conv1.weight)


@pytest.mark.parametrize('method, arguments', [
    ('RandomLabel', dict(exclude_true_label=True)),
    ('BadTeacher', dict(temperature=2.0)),      # its random teacher: the model re-initialised
    ('InfluenceUnlearn', dict(alpha=0.1)),      # a one-shot edit: no training loop
])
def test_other_methods_by_name_with_their_arguments(trained, forget_loader, method, arguments):
    unlearned = unlearn(trained, forget_loader, [FORGET], method=method, epochs=2, lr=0.05, **arguments)
    assert type(unlearned) is type(trained) and not _same_weights(unlearned, trained)


def test_a_remain_data_method_reads_the_remain_loader(trained, digits, forget_loader):
    remain = _loader(*digits['train'], keep_forget=False, batch_size=128)
    unlearned = unlearn(trained, forget_loader, [FORGET], method='Finetune', remain_loader=remain, epochs=1, lr=0.01)
    assert _accuracy(unlearned.eval(), *digits['test'], forget=False) >= 0.9


def test_pixel_methods_need_the_normalisation_of_the_inputs(trained, forget_loader):
    with pytest.raises(UnlearnError, match=r'BoundaryShrink needs images in pixel space.*pixel_normalization'):
        unlearn(trained, forget_loader, [FORGET], method='BoundaryShrink')
    unlearned = unlearn(trained, forget_loader, [FORGET], method='BoundaryShrink', epochs=1,
                        pixel_normalization=([0.0], [1.0]))  # the digits vectors are [0, 1] pixels
    assert isinstance(unlearned, nn.Sequential)


def test_a_custom_collate_fn_serves_every_pass(trained, forget_loader):
    """SalUn's saliency pass (MethodData.batches) and its training loop (the Runner) both use the loader's own."""
    calls = []

    def collate(items):
        calls.append(len(items))
        return default_collate(items)

    loader = DataLoader(forget_loader.dataset, batch_size=16, collate_fn=collate)
    unlearn(trained, loader, [FORGET], method='SalUn', epochs=1, lr=0.01)
    batches = -(-len(loader.dataset) // 16)
    assert len(calls) == 1 + 2 * batches  # the first batch read by the API, the saliency pass, one epoch
    assert not any(name.startswith('python_api_collate') for name in FUNCTIONS.module_dict)


@pytest.mark.parametrize('kwargs, message', [
    (dict(method='DELTE'), "unknown method type 'DELTE' (did you mean 'DELETE'?)"),
    (dict(method='DELETE', alpah=0.5), "method 'DELETE': "),
    (dict(method='Finetune'), "method 'Finetune' reads remaining training data: pass remain_loader="),
    (dict(forget_classes=[12]), 'forget class index 12 is out of range: this dataset has 10 classes'),
    (dict(forget_classes=['cat']), "unknown class name 'cat' in forget_classes"),
    (dict(epochs=0), 'epochs = 0: it must be an integer >= 1'),
    (dict(lr=-1.0), 'lr = -1.0: it must be a number > 0'),
    (dict(class_names=['a', 'b']), "class_names must list the model's 10 classes"),
    (dict(precision='half'), "precision = 'half': choose one of"),
])
def test_bad_input_is_one_line_before_training(trained, forget_loader, monkeypatch, kwargs, message):
    monkeypatch.setattr(driver, 'run_method', lambda *args, **kw: pytest.fail('training started'))
    kwargs = dict(dict(forget_classes=[FORGET]), **kwargs)
    with pytest.raises(UnlearnError) as error:
        unlearn(trained, forget_loader, **kwargs)
    assert message in str(error.value) and '\n' not in str(error.value)


def test_bad_loaders_are_one_line(trained, digits, monkeypatch):
    monkeypatch.setattr(driver, 'run_method', lambda *args, **kw: pytest.fail('training started'))
    x, y = digits['train']
    cases = [
        (DataLoader(TensorDataset(x[:0], y[:0]), batch_size=8), 'forget_loader is empty'),
        (DataLoader(TensorDataset(x, y), batch_size=64), 'forget_loader yields samples of class'),
        (DataLoader(TensorDataset(x[y == FORGET], y[y == FORGET].float()), batch_size=8), 'int64 class labels'),
        (list(DataLoader(TensorDataset(x, y))), 'forget_loader must be a torch.utils.data.DataLoader'),
    ]
    for loader, message in cases:
        with pytest.raises(UnlearnError, match=message):
            unlearn(trained, loader, [FORGET])
    with pytest.raises(UnlearnError, match='remain_loader yields samples of class 3'):
        unlearn(trained, _loader(x, y, keep_forget=True), [FORGET], method='Finetune',
                remain_loader=DataLoader(TensorDataset(x, y), batch_size=256))


def test_package_exports_are_lazy():
    """``import unlearn`` stays light (tools import it first); ``unlearn`` and ``delete_loss`` come on first use."""
    import unlearn as package
    from unlearn import delete_loss, losses, python_api
    assert delete_loss is losses.delete_loss and package.unlearn is python_api.unlearn is unlearn
    assert sorted(package.__all__) == ['delete_loss', 'unlearn']
    code = 'import sys, unlearn, unlearn.errors; assert "torch" not in sys.modules, sorted(sys.modules)'
    subprocess.run([sys.executable, '-c', code], check=True, cwd=Path(__file__).resolve().parents[1])
