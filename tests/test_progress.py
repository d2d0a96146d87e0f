"""Progress output (issue #13, item 5): a bar on a terminal only; captured output gets one plain line per pass."""
import io
import re
import sys
from types import SimpleNamespace

import pytest
from torch.utils.data import Subset

from tasks.classification.adapter import ClassificationTask
from tasks.classification.evaluator import ClassificationEvaluator
from unlearn.methods.base import MethodData
from unlearn.progress import progress

DONE_LINE = r'{}: 100% \({} {}, \d+\.\d s\)\n'


@pytest.fixture(scope='module')
def digits():
    task = ClassificationTask(dataset=dict(type='Digits'))
    network = task.build_network(dict(type='DigitsCNN'))
    return task, network, Subset(task.data.test, range(100))


def test_off_a_terminal_a_pass_prints_one_plain_line_when_done(capsys):
    with progress('D_r', 1234) as update:
        for _ in range(3):
            update(400)
        update(34)
    assert re.fullmatch(DONE_LINE.format('D_r', '1,234', 'images'), capsys.readouterr().out)


def test_an_unnamed_or_failed_pass_prints_nothing(capsys):
    with progress('', 10) as update:
        update(10)
    with pytest.raises(KeyError), progress('D_f', 10) as update:
        update(5)
        raise KeyError
    assert capsys.readouterr().out == ''


def test_on_a_terminal_the_bar_ends_its_line(monkeypatch):
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    monkeypatch.setattr(sys, 'stdout', terminal)
    with progress('D_f', 4) as update:
        for _ in range(4):
            update(1)
    assert '\r[' in terminal.getvalue() and ' 4/4,' in terminal.getvalue() and terminal.getvalue().endswith('\n')


def test_evaluation_and_method_passes_print_plain_lines_in_captured_output(digits, capsys):
    task, network, images = digits
    ClassificationEvaluator(task).predict(network, images, 'test', desc='D_test')
    data = MethodData(task, forget=images, remain=None, batch_size=32, seed=0)
    model = SimpleNamespace(data_preprocessor=lambda batch, training: batch)
    assert len(list(data.batches(model, images, desc='SalUn: saliency mask'))) == 4
    out = capsys.readouterr().out
    assert '\r' not in out and '>' not in out
    assert re.search(DONE_LINE.format('D_test', 100, 'images'), out)
    assert re.search(DONE_LINE.format('SalUn: saliency mask', 4, 'batches'), out)
