"""What the speed benchmarks share: the images per second of a step, timed with the device synchronised, and the
plain training step (cross-entropy, SGD with momentum and weight decay) that retraining costs are measured with."""
import copy
import time

import torch
import torch.nn.functional as F


def timed(function, device=torch.device('cpu')):
    """(seconds, result) of ``function()``, with CUDA's queued work finished on both sides."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    result = function()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, result


def throughput(step, images_per_step, device=torch.device('cpu'), repeats=5):
    """Images per second of ``step()`` after one warm-up call."""
    step()
    seconds, _ = timed(lambda: [step() for _ in range(repeats)], device)
    return repeats * images_per_step / seconds


def training_step(network, x, y):
    """One step of training a copy of ``network`` on the batch (x, y), as a retrain would: CE, SGD lr 0.1,
    momentum 0.9, weight decay 5e-4."""
    trainee = copy.deepcopy(network).train().requires_grad_(True)
    optimizer = torch.optim.SGD(trainee.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

    def step():
        loss = F.cross_entropy(trainee(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step
