"""benchmarks/speed_backdoor.py: its hand-written Neural Cleanse loop computes what the framework's scan computes,
step for step (its timings are not tested), and the script runs end to end on a tiny setting."""
import contextlib
import io

import pytest
import torch
from torch import nn

from conftest import load_benchmark
from method_helpers import one_thread  # noqa: F401

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


@pytest.fixture(scope='module')
def speed_backdoor():
    return load_benchmark('speed_backdoor')


def tiny_network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 3))


@pytest.mark.parametrize('steps, count, images_per_step, batch_size, seed, stops_early, succeeds', [
    (120, 48, 32, 16, 0, True, True),    # λ moves up and down and the early stop ends the scan: the best mask
    (120, 20, 40, 16, 3, True, True),    # a step spans several random orders of the images
    (3, 20, 40, 16, 3, False, False),    # never at 99%: the last mask
])
def test_hand_scan_follows_the_framework(speed_backdoor, steps, count, images_per_step, batch_size, seed,
                                         stops_early, succeeds):
    images = torch.rand(count, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    network = tiny_network()
    args = (network, images, MEAN, STD, 0, steps, images_per_step, batch_size, seed)
    mask, pattern, success, steps_run = speed_backdoor.hand_scan(*args)
    framework = speed_backdoor.framework_scan(*args)
    assert steps_run == int(framework.steps[0])
    assert (steps_run < steps) == stops_early
    assert (100 * success >= 99) == succeeds
    assert 100 * success == pytest.approx(float(framework.success_rates[0]))
    torch.testing.assert_close(mask, torch.from_numpy(framework.masks[0]), rtol=0, atol=1e-6)
    torch.testing.assert_close(pattern.permute(1, 2, 0), torch.from_numpy(framework.patterns[0]), rtol=0, atol=1e-6)
    assert float(mask.double().sum()) == pytest.approx(float(framework.norms[0]), rel=1e-6)


def test_the_script_runs_on_a_tiny_setting(speed_backdoor):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        speed_backdoor.main(['--image-size', '8', '--clean-images', '16', '--steps', '2', '--images-per-step', '8',
                             '--batch-size', '8', '--repeats', '1', '--threads', '1'])
    text = out.getvalue()
    assert 'same (relative tolerance' in text and 'DIFFERENT' not in text
    assert 'retrain the oracle (6 epochs x 45,500)' in text and 'retrain the oracle (150 epochs x 45,500)' in text
    assert 'DELETE run (20 epochs x 2,025)' in text
