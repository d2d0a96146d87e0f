"""Training the original / oracle: mmengine's loop validates on the schedule the recipe asks for."""
import re

from method_helpers import MODEL_CFG, digits_task, one_thread  # noqa: F401 - one_thread is an autouse fixture
from tasks.classification.evaluator import ClassificationEvaluator
from unlearn.request import ReferenceData
from unlearn.training import train_supervised


def test_validates_every_val_interval_epochs_and_after_the_last(tmp_path):
    task = digits_task()
    schedule = dict(max_epochs=3, val_interval=2, batch_size=256, seed=0, log_interval=1000,
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)))
    train_supervised(task, ClassificationEvaluator(task), task.build_network(MODEL_CFG),
                     ReferenceData(task.data.train, task.data.test), schedule, tmp_path / 'train.log')
    validated = {int(epoch) for epoch in re.findall(r'Epoch\(val\) \[(\d+)\]', (tmp_path / 'train.log').read_text())}
    assert validated == {2, 3}
