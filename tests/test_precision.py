"""The precision setting: what it resolves to, what it refuses, and that every stage runs in it."""
import copy
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn
from torch.utils.data import TensorDataset

from conftest import REPO, run_tool
from method_helpers import one_thread  # noqa: F401  (tiny CNN: one thread is faster)
from unlearn.apis.experiment import load_experiment
from unlearn.benchmark.grid import cell_hash
from unlearn.checkpoint import save_state_dict
from unlearn.config import check_config
from unlearn.errors import UnlearnError
from unlearn.inference import predict
from unlearn.losses import delete_loss
from unlearn.precision import Precision, applied, current, native_bf16, optim_wrapper_for, resolve
from unlearn.training import cached_model_path, model_key

DIGITS = REPO / 'configs' / 'cls' / 'digits_forget_3.py'
BF16 = Precision('bf16', device='cpu')


def test_the_defaults_are_fp32_nchw_and_add_nothing_to_a_cache_key():
    assert resolve({}, 'cpu') == Precision('fp32', False, 'cpu')
    assert resolve({}, 'cpu').key() == {}
    args = ('original', dict(dataset='d'), dict(type='Net'), dict(lr=0.1), [3])
    assert model_key(*args, precision={}) == model_key(*args), 'models cached before the setting keep their key'
    assert model_key(*args, precision=BF16.key()) != model_key(*args)
    assert model_key(*args, precision=Precision(channels_last=True).key()) != model_key(*args)


def test_auto_is_bf16_exactly_where_the_hardware_has_it():
    assert resolve(dict(precision='auto'), 'cpu').name == ('bf16' if native_bf16('cpu') else 'fp32')


@pytest.mark.parametrize('cfg, message', [
    (dict(precision='bf17'), "precision = 'bf17': choose one of ['fp32', 'bf16', 'fp16', 'auto']"),
    (dict(precision=None), 'precision = None: choose one of'),
    (dict(precision='fp16'), "precision = 'fp16' needs a CUDA GPU"),
    (dict(channels_last='yes'), "channels_last = 'yes': it must be True or False"),
])
def test_bad_settings_are_refused_in_one_line(cfg, message):
    with pytest.raises(UnlearnError, match=message.replace('[', r'\[').replace(']', r'\]')):
        resolve(cfg, 'cpu')


def _digits(**options) -> Config:
    cfg = Config.fromfile(str(DIGITS))
    cfg.merge_from_dict(options)
    return cfg


def test_the_config_check_refuses_a_bad_precision_and_a_clashing_wrapper_before_anything_runs():
    with pytest.raises(UnlearnError, match="precision = 'float16'"):
        check_config(_digits(precision='float16'))
    with pytest.raises(UnlearnError, match="unknown config key 'precison' \\(did you mean 'precision'"):
        check_config(_digits(precison='bf16'))
    clash = {'precision': 'bf16', 'train_schedule.optim_wrapper.type': 'AmpOptimWrapper'}
    with pytest.raises(UnlearnError, match="^train_schedule.optim_wrapper type 'AmpOptimWrapper' with precision"):
        check_config(_digits(**clash))
    check_config(_digits(precision='bf16', channels_last=True))


def test_bf16_wraps_the_optimiser_in_autocast_and_keeps_float32_weights():
    cfg = dict(optimizer=dict(type='SGD', lr=0.1))
    assert optim_wrapper_for(cfg, Precision()) is cfg
    network = nn.Linear(4, 3)
    wrapper = build_optim_wrapper(network, optim_wrapper_for(cfg, BF16))
    x = torch.randn(8, 4)
    with wrapper.optim_context(network):
        out = network(x)
    assert out.dtype == torch.bfloat16
    before = network.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert network.weight.dtype == torch.float32 and not torch.equal(network.weight, before)


def test_the_delete_loss_keeps_a_float32_softmax_under_bf16():
    torch.manual_seed(0)
    student, teacher = torch.randn(16, 10), torch.randn(16, 10)
    labels = torch.randint(0, 10, (16,))
    mask = torch.nn.functional.one_hot(labels, 10).bool()
    reference = delete_loss(student, teacher, mask)
    half = delete_loss(student.bfloat16(), teacher.bfloat16(), mask)
    assert half.dtype == torch.float32
    assert torch.allclose(half, reference, rtol=0.02, atol=1e-3)


def test_predict_runs_in_inference_mode_and_the_current_precision_and_returns_float32():
    network = nn.Linear(4, 3)
    dataset = TensorDataset(torch.randn(10, 4))
    seen = []

    def per_batch(net, batch):
        seen.append((torch.is_inference_mode_enabled(), torch.is_grad_enabled()))
        out = net(batch[0])
        seen.append(out.dtype)
        return out

    outputs = predict(network, dataset, per_batch, seed=0, batch_size=5)
    assert seen[:2] == [(True, False), torch.float32] and outputs[0].dtype == torch.float32
    seen.clear()
    with applied(BF16):
        assert current() == BF16
        outputs = predict(network, dataset, per_batch, seed=0, batch_size=5)
    assert seen[1] == torch.bfloat16 and outputs[0].dtype == torch.float32
    assert current() == Precision(device=current().device), 'the precision is the run\'s only'
    seen.clear()
    predict(network, dataset, per_batch, seed=0, batch_size=5, gradients=True)
    assert seen[0] == (False, False), 'a per_batch that computes gradients itself (Grad-CAM) can enable them'


def test_a_channels_last_network_saves_the_same_bytes_as_an_nchw_one(tmp_path):
    torch.manual_seed(0)
    network = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    last = Precision(channels_last=True).prepare(copy.deepcopy(network))
    assert last[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert save_state_dict(last, tmp_path / 'a.pth') == save_state_dict(network, tmp_path / 'b.pth')


def test_delete_in_bf16_reaches_the_fp32_outcome_on_digits_and_says_what_ran(tmp_path):
    """The demo in bf16 end to end (original, oracle, unlearning, evaluation): the paper's outcome as in fp32
    (tests/test_pipeline_digits.py), its reference models cached under their own keys, meta.json saying bf16."""
    cache = tmp_path / 'ckpt'
    status, stdout, err = run_tool('unlearn.py', DIGITS, '--work-dir', tmp_path / 'runs',
                                   '--cfg-options', f'checkpoint_dir={cache}', 'precision=bf16', 'channels_last=True')
    assert status == 0, err
    [run_dir] = (tmp_path / 'runs').iterdir()
    m = json.loads((run_dir / 'metrics.json').read_text())
    assert m['original']['acc_ft'] >= 95.0 and m['retrain']['acc_ft'] == 0.0
    assert m['acc_ft'] <= 1.0 and m['acc_f'] <= 1.0
    assert abs(m['acc_rt'] - m['original']['acc_rt']) <= 2.0
    assert abs(m['h_mean'] - m['retrain']['h_mean']) <= 2.0
    meta = json.loads((run_dir / 'meta.json').read_text())
    assert (meta['precision'], meta['channels_last'], meta['device']) == ('bf16', True, 'cpu')
    records = [json.loads(path.read_text()) for path in cache.glob('*-*.json') if '.metrics-' not in path.name]
    assert sorted(r['kind'] for r in records) == ['original', 'retrain']
    assert all((r['precision'], r['channels_last']) == ('bf16', True) for r in records)
    fp32 = Config.fromfile(str(DIGITS))
    fp32.checkpoint_dir = str(cache)
    experiment = load_experiment(fp32)
    for kind in ('original', 'retrain'):
        assert not cached_model_path(kind, fp32, experiment.task, experiment.request).exists(), \
            'an fp32 run must not find the bf16 models'


def test_a_benchmark_cell_at_the_default_precision_is_the_cell_without_the_key():
    """So a grid over precision finds the fp32 cells run before the setting existed (their results are reused)."""
    cell = dict(method=dict(type='DELETE'), seed=2022)
    assert cell_hash(dict(cell, precision='fp32', channels_last=False)) == cell_hash(cell)
    assert cell_hash(dict(cell, precision='bf16')) != cell_hash(cell)
    assert cell_hash(dict(cell, channels_last=True)) != cell_hash(cell)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
@pytest.mark.parametrize('name', ['fp16', 'bf16', 'auto'])
def test_on_cuda_each_precision_trains_a_channels_last_network_with_float32_weights(name):
    precision = resolve(dict(precision=name, channels_last=True), 'cuda')
    network = precision.prepare(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(2)).cuda())
    network(torch.randn(2, 3, 8, 8, device='cuda'))  # materialise the lazy layer
    wrapper = build_optim_wrapper(network, optim_wrapper_for(dict(optimizer=dict(type='SGD', lr=0.1)), precision))
    before = [p.detach().clone() for p in network.parameters()]
    with wrapper.optim_context(network):
        loss = network(torch.randn(4, 3, 8, 8, device='cuda')).float().pow(2).mean()
    wrapper.update_params(loss)
    assert all(p.dtype == torch.float32 for p in network.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters()))
