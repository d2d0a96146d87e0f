"""The backdoor task's figures and tools on the digits default: a run draws the recovery and the triggered
examples, tools/backdoor_eval.py scores a checkpoint beside the original and the oracle, and
tools/analysis/recover_trigger.py scans any model, tools/analysis/trigger_visibility.py bins a model's attack success
by how much the trigger changes each image; bad input stops them in one line, with nothing written."""
import csv
import json

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, run_tool
from method_helpers import one_thread  # noqa: F401
from tasks.backdoor.recovery import RecoveredTriggers, mad_detection
from tasks.backdoor.triggers import badnet_trigger
from tasks.backdoor.visualization import flag_threshold, plot_trigger_recovery, plot_triggered_examples
from tools.analysis.trigger_visibility import FIELDS, change_bins, visibility_rows

CONFIG = REPO / 'configs' / 'backdoor' / 'digits_badnet_forget_backdoor.py'
FIGURES = ('trigger_recovery.png', 'triggered_examples.png')


@pytest.fixture(scope='module')
def backdoor_run(digits_backdoor_run):
    """The digits default run once per session: (run folder, checkpoint folder)."""
    return digits_backdoor_run


def _assert_pngs(folder, names=FIGURES):
    for name in names:
        with Image.open(folder / name) as image:
            assert image.format == 'PNG' and min(image.size) > 200, name


def _table(out: str) -> dict:
    """The markdown table a tool printed: row name -> column title -> cell."""
    lines = [line.strip('|').split('|') for line in out.splitlines() if line.startswith('| ')]
    head = [cell.strip() for cell in lines[0]]
    return {cells[0].strip(): dict(zip(head, (cell.strip() for cell in cells))) for cells in lines[1:]}


def test_the_flag_threshold_is_the_mad_test_on_the_norms():
    norms = np.random.default_rng(0).gamma(4.0, 3.0, size=(50, 10))
    norms[::3, 2] = 0.5  # an outlier in every third scan
    for row in norms:
        assert np.array_equal(mad_detection(row).flagged, row < flag_threshold(row))


def test_the_figures_have_a_panel_per_class_and_per_image():
    trigger = badnet_trigger(8, 1, size=2)
    masks = np.random.default_rng(0).random((3, 8, 8))
    triggers = RecoveredTriggers(np.array([0, 1, 2]), masks, np.ones((3, 8, 8, 1)), np.full(3, 100.0),
                                 np.full(3, 20), mad_detection(masks.sum(axis=(1, 2))))
    figure = plot_trigger_recovery(triggers, trigger, 1, ['a', 'b', 'c'])
    assert len(figure.axes) == 2 * (3 + 1) + 1  # mask and m * p per class and the true trigger; the norms
    figure = plot_trigger_recovery(triggers, None, None, ['a', 'b', 'c'])  # a suspect model: no true trigger
    assert len(figure.axes) == 2 * 3 + 1
    pixels = {row: np.zeros((4, 8, 8, 1)) for row in ('clean', 'true trigger', 'recovered trigger')}
    predictions = {model: {row: np.array([0, 1, 2, 0]) for row in pixels} for model in ('Original', 'DELETE')}
    figure = plot_triggered_examples(pixels, np.array([0, 2, 2, 0]), predictions, ['a', 'b', 'c'], 1)
    assert len(figure.axes) == 3 * 4


def test_a_run_draws_the_recovery_and_the_triggered_examples(backdoor_run):
    _assert_pngs(backdoor_run[0] / 'plots')


def test_backdoor_eval_scores_a_checkpoint_beside_the_original_and_the_oracle(backdoor_run, tmp_path):
    run_dir, ckpt = backdoor_run
    status, out, err = run_tool('backdoor_eval.py', CONFIG, run_dir / 'unlearned.pth', '--out', tmp_path / 'm.csv',
                                '--plots', tmp_path / 'plots', '--cfg-options', f'checkpoint_dir={ckpt}')
    assert status == 0, err
    table = _table(out)
    assert list(table) == ['Original', 'Retrain', 'unlearned.pth']
    assert float(table['Original']['ASR ↓']) >= 90 and table['Original']['Recovered-trigger ASR ↓'] != '–'
    with open(tmp_path / 'm.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [row['model'] for row in rows] == list(table)
    assert float(rows[0]['asr']) == pytest.approx(float(table['Original']['ASR ↓']), abs=0.005)
    _assert_pngs(tmp_path / 'plots')


def test_recover_trigger_scans_the_original_and_the_clean_oracle(backdoor_run, tmp_path):
    ckpt = backdoor_run[1]
    scans = tmp_path / 'scans.csv'
    status, out, err = run_tool('analysis/recover_trigger.py', CONFIG, '--out', scans,
                                '--cfg-options', f'checkpoint_dir={ckpt}')
    assert status == 0, err
    table = _table(out)
    assert len(table) == 10 and table['one (t̂, true target)']['flagged'] == 'yes'
    assert "t̂ = 'one' (the attack's target 'one'): flagged" in out and '(read from the cache)' in out
    status, out, err = run_tool('analysis/recover_trigger.py', CONFIG, '--model', 'retrain', '--plots',
                                tmp_path / 'plots', '--out', scans, '--cfg-options', f'checkpoint_dir={ckpt}',
                                'recovery.steps=5')  # a short scan: the control's numbers are not checked
    assert status == 0, err
    assert len(_table(out)) == 10 and 'NeuralCleanse on the Retrain' in out
    _assert_pngs(tmp_path / 'plots', ['trigger_recovery.png'])
    original, control = list(csv.DictReader(scans.open()))
    facts = json.loads((backdoor_run[0] / 'metrics.json').read_text())['original']['recovery']
    assert (original['model'], original['target_name'], original['flagged']) == ('original', 'one', 'True')
    assert float(original['mask_iou']) == pytest.approx(facts['mask_iou'])
    assert float(original['mask_iou_mirrored']) == pytest.approx(facts['mask_iou_mirrored'])
    assert float(original['norm.one']) == pytest.approx(facts['norms']['one'])
    assert control['model'] == 'retrain' and 'recovery.steps=5' in control['cfg_options']


def test_visibility_rows_bin_the_images_by_the_stamps_change():
    change = np.array([0.0, 0.01, 0.02, 0.5, 1.0])
    assert change_bins(change).tolist() == [0, 0, 1, 5, 5]  # an edge opens its bin; 1 closes the last
    predictions = {'m': dict(triggered=np.array([0, 1, 0, 0, 0]), clean=np.array([0, 1, 1, 1, 1]))}
    rows = visibility_rows(change, predictions, target=0)
    assert [(r['images'], r['share'], r['asr'], r['clean_as_target']) for r in rows] == [
        (2, 40.0, 50.0, 50.0), (1, 20.0, 100.0, 0.0), (0, 0.0, None, None), (0, 0.0, None, None),
        (0, 0.0, None, None), (2, 40.0, 100.0, 0.0)]
    data_only = visibility_rows(change, {}, target=0)
    assert [r['model'] for r in data_only] == [None] * 6 and all(r['asr'] is None for r in data_only)
    with pytest.raises(ValueError, match=r'changes must lie in \[0.0, 1.0\]'):
        change_bins(np.array([1.5]))


def test_trigger_visibility_splits_each_models_asr_by_the_stamps_change(backdoor_run, tmp_path):
    """The bins' images add up to the triggered test images, and their ASRs, weighted by size, to the model's ASR
    in the run's metrics; a second config's rows are appended under the same header."""
    run_dir, ckpt = backdoor_run
    out = tmp_path / 'visibility.csv'
    status, printed, err = run_tool('analysis/trigger_visibility.py', CONFIG, '--model', 'original', 'retrain',
                                    '--out', out, '--plots', tmp_path / 'plots',
                                    '--cfg-options', f'checkpoint_dir={ckpt}')
    assert status == 0, err
    _assert_pngs(tmp_path / 'plots', ['trigger_visibility.png'])
    metrics = json.loads((run_dir / 'metrics.json').read_text())
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(FIELDS) and [row['model'] for row in rows] == ['Original'] * 6 + ['Retrain'] * 6
    for model, kind in (('Original', 'original'), ('Retrain', 'retrain')):
        bins = [row for row in rows if row['model'] == model and int(row['images'])]
        images = sum(int(row['images']) for row in bins)
        asr = sum(int(row['images']) * float(row['asr']) for row in bins) / images
        assert asr == pytest.approx(metrics[kind]['asr'], abs=1e-6)
        assert f"{model}: ASR {metrics[kind]['asr']:.2f}%" in printed
    assert sum(float(row['share']) for row in rows[:6]) == pytest.approx(100.0)
    status, _, err = run_tool('analysis/trigger_visibility.py', CONFIG, '--model', '--out', out,
                              '--cfg-options', f'checkpoint_dir={ckpt}', 'task.attack.pattern=checkerboard')
    assert status == 0, err
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert [row['model'] for row in rows[12:]] == ['none'] * 6
    assert {row['cfg_options'] for row in rows[12:]} == {f'checkpoint_dir={ckpt} task.attack.pattern=checkerboard'}
    assert all(row['asr'] == '' for row in rows[12:])


def test_recover_trigger_appends_only_to_a_scan_table(backdoor_run, tmp_path):
    """A file that is not this config's scan table is refused before the scan, and left as it was."""
    for text in ('x', 'model,cfg_options\noriginal,\n', '\x00\xff\xfe'):
        other = tmp_path / 'other.csv'
        other.write_bytes(text.encode('latin-1'))
        status, _, err = run_tool('analysis/recover_trigger.py', CONFIG, '--out', other,
                                  '--cfg-options', f'checkpoint_dir={backdoor_run[1]}')
        assert status == 2 and 'is not a scan table of this config' in err and len(err.strip().splitlines()) == 1
        assert other.read_bytes() == text.encode('latin-1')
    status, _, err = run_tool('analysis/recover_trigger.py', CONFIG, '--out', tmp_path / 'missing' / 'scans.csv')
    assert status == 2 and 'name a CSV file in an existing folder' in err


@pytest.mark.parametrize('tool, arguments, message', [
    ('backdoor_eval.py', [CONFIG, 'missing.pth'], 'checkpoint not found: missing.pth'),
    ('backdoor_eval.py', [REPO / 'configs' / 'cls' / 'digits_forget_3.py', 'missing.pth'],
     'is not a backdoor config (its task is ClassificationTask)'),
    ('analysis/recover_trigger.py', [CONFIG], 'no original model (no original_checkpoint, nothing cached in'),
    ('analysis/recover_trigger.py', [CONFIG, '--model', 'orignal'],
     "--model orignal: neither 'original', 'retrain' nor a checkpoint file"),
    ('analysis/recover_trigger.py', [REPO / 'configs' / 'cls' / 'digits_forget_3.py'], 'is not a backdoor config'),
    ('analysis/trigger_visibility.py', [CONFIG], 'no original model (no original_checkpoint, nothing cached in'),
    ('analysis/trigger_visibility.py', [CONFIG, '--model', 'retrian'],
     "--model retrian: neither 'original', 'retrain' nor a checkpoint file"),
    ('analysis/trigger_visibility.py', [CONFIG, '--model', '--cfg-options', 'task.attack=None'],
     'task.attack=None is a suspect model'),
])
def test_bad_input_stops_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capfd, tool, arguments, message):
    monkeypatch.chdir(tmp_path)
    outputs = ['--out', 'm.csv', '--plots', 'plots'] if tool == 'backdoor_eval.py' else ['--plots', 'plots']
    status, out, err = run_tool(tool, *arguments, *outputs, '--cfg-options', f'checkpoint_dir={tmp_path / "ckpt"}')
    captured = capfd.readouterr()
    output = out + err + captured.out + captured.err
    assert status == 2 and output.startswith('error: ') and output.count('\n') == 1, output
    assert message in output
    assert not any(tmp_path.iterdir())


def test_backdoor_eval_never_overwrites_its_csv(tmp_path):
    existing = tmp_path / 'm.csv'
    existing.write_text('x')
    status, _, err = run_tool('backdoor_eval.py', CONFIG, 'missing.pth', '--out', existing)
    assert status == 2 and 'm.csv exists' in err and len(err.strip().splitlines()) == 1
    assert existing.read_text() == 'x'
