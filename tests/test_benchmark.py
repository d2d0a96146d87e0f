"""Benchmarks: grid expansion and cell names, resumption, mean ± std, the paper's table layout, the figures."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from conftest import REPO, run_tool
from tasks.classification.evaluator import ClassificationEvaluator
from unlearn.benchmark import (aggregate, expand_grid, grid_points, latex_tables, markdown_tables, read_results,
                               results_csv, run_benchmark)
from unlearn.benchmark.tables import EXTRA_TITLES, latex_title
from unlearn.errors import UnlearnError

METHODS = REPO / 'configs' / '_base_' / 'methods'
BENCHMARK_CONFIGS = sorted((REPO / 'configs' / 'benchmarks').glob('*.py'))


def write_config(folder: Path, benchmark: str, extra: str = '') -> Path:
    path = folder / 'bench.py'
    path.write_text(f"_base_ = ['{REPO / 'configs' / 'cls' / 'digits_forget_3.py'}']\n{extra}\n"
                    f'benchmark = dict({benchmark})\n')
    return path


def test_grid_points_cross_product_and_union():
    assert grid_points(None) == [{}]
    assert grid_points({'a': [1, 2], 'b.c': ['x', 'y']}) == [
        {'a': 1, 'b.c': 'x'}, {'a': 1, 'b.c': 'y'}, {'a': 2, 'b.c': 'x'}, {'a': 2, 'b.c': 'y'}]
    assert grid_points([{'method.alpha': [0, .5]}, {'method.temperature': [5]}]) == [
        {'method.alpha': 0}, {'method.alpha': .5}, {'method.temperature': 5}]
    for bad in ({'seed': [1, 2]}, {'method': [dict(type='DELETE')]}, {'a': 3}, {'a': []}):
        with pytest.raises(UnlearnError):
            grid_points(bad)


def test_cells_are_named_stably_and_rows_tell_methods_apart(tmp_path):
    config = write_config(tmp_path, f"""
        methods=['{METHODS / 'delete.py'}', dict(type='DELETE', mask_all_forget_classes=True),
                 '{METHODS / 'l2ul.py'}', '{METHODS / 'l2ul_importance.py'}', '{METHODS / 'salun_retain.py'}'],
        forget_sets=[['three'], ['three', 'eight']], seeds=[0, 1],
        grid={{'schedule.optim_wrapper.optimizer.lr': [1e-3, 1e-2], 'schedule.batch_size': [16]}}""")
    cfg = Config.fromfile(str(config))
    cells = expand_grid(cfg, tmp_path / 'out')
    assert len(cells) == 5 * 2 * 2 * 2
    assert list(dict.fromkeys(c.forget_set for c in cells)) == ['three', '2 classes']
    assert list(dict.fromkeys(c.row for c in cells))[:4] == [
        'DELETE [lr=0.001]', 'DELETE [lr=0.01]', 'DELETE [mask_all_forget_classes=True, lr=0.001]',
        'DELETE [mask_all_forget_classes=True, lr=0.01]']
    assert {'L2UL [lr=0.001]', 'L2UL [reg_lambda=1.0, lr=0.001]', 'SalUn (R) [lr=0.01]'} <= {c.row for c in cells}
    first = cells[0]
    assert first.key.startswith('delete-three-seed0-lr=0.001-')
    assert first.work_dir == tmp_path / 'out' / 'runs' / first.key
    assert first.config.method == dict(type='DELETE', alpha=0.0, temperature=1.0, mask_all_forget_classes=False)
    assert first.config.schedule.optim_wrapper.optimizer.lr == 1e-3 and first.config.schedule.batch_size == 16
    assert first.config.seed == 0 and 'benchmark' not in first.config
    assert len({c.key for c in cells}) == len(cells)
    assert [c.key for c in expand_grid(cfg, tmp_path / 'elsewhere')] == [c.key for c in cells], 'stable names'
    cfg.merge_from_dict({'schedule.max_epochs': 3})
    assert expand_grid(cfg, tmp_path / 'out')[0].key != first.key, 'another schedule is another cell'


def test_a_one_key_at_a_time_sweep_is_read_with_the_other_keys_at_their_defaults(tmp_path):
    config = write_config(tmp_path, f"""
        methods=['{METHODS / 'delete.py'}'], seeds=[0, 1],
        grid=[{{'method.alpha': [0.0, 0.5]}}, {{'method.temperature': [5.0]}}]""")
    cells = expand_grid(Config.fromfile(str(config)), tmp_path / 'out')
    assert [c.grid for c in cells[::2]] == [{'method.alpha': 0.0, 'method.temperature': 1.0},
                                             {'method.alpha': 0.5, 'method.temperature': 1.0},
                                             {'method.alpha': 0.0, 'method.temperature': 5.0}], \
        "each cell records the value it ran with of every swept key, its config's where its point is silent"
    assert [c.row for c in cells[::2]] == ['DELETE [alpha=0.0]', 'DELETE [alpha=0.5]', 'DELETE [temperature=5.0]']

    from unlearn.benchmark.figures import sweep_plot, sweep_series
    records = [dict(_record(c.row, c.seed, **c.grid, acc_ft=10 * i + c.seed, h_mean=50.0, **REFERENCES),
                    method=c.method) for i, c in enumerate(cells)]
    keys = ['method.alpha', 'method.temperature']
    values, held, chosen = sweep_series(records, 'method.temperature', keys)
    assert values == [1.0, 5.0] and held == {'method.alpha': 0.0}, 'T = 1 is the alpha = 0 run'
    assert [r['acc_ft'] for r in chosen] == [0, 11, 40, 51]
    values, held, chosen = sweep_series(records, 'method.alpha', keys)
    assert values == [0.0, 0.5] and held == {'method.temperature': 1.0} and len(chosen) == 4
    assert sweep_plot(records, tmp_path / 'sweep.png', keys, metrics=['acc_ft', 'h_mean']).stat().st_size > 0
    two_methods = records + [dict(r, method='other', acc_ft=0.0) for r in records]
    from PIL import Image
    one, two = (Image.open(sweep_plot(rs, tmp_path / f'{n}.png', keys, metrics=['acc_ft'])).size
                for n, rs in (('one', records), ('two', two_methods)))
    assert two[0] == one[0] and two[1] == 2 * one[1], 'a row of panels per method: never averaged across methods'
    with pytest.raises(UnlearnError, match='takes two values'):
        sweep_plot(records, tmp_path / 'none.png', ['seed_of_nothing'], metrics=['acc_ft'])


@pytest.mark.parametrize('benchmark, message', [
    ("method=['x']", "did you mean 'methods'"),
    ("methods=[dict(type='DELET')]", "did you mean 'DELETE'"),
    ("methods=[dict(type='DELETE', beta=1)]", 'beta'),
    ("methods=['no_such_method.py']", 'no method config'),
    ("seeds=[1, 1]", 'repeats'),
    ("grid={'schedule.max_epoch': [1, 2]}", "did you mean 'schedule.max_epochs'"),
    ("grid={'seed': [1, 2]}", 'benchmark.seeds'),
])
def test_bad_benchmark_fails_before_any_run(tmp_path, benchmark, message):
    status, _, err = run_tool('benchmark.py', write_config(tmp_path, benchmark), '--out-dir', tmp_path / 'out')
    assert status == 2 and message in err, err
    assert not (tmp_path / 'out').exists()


def _record(row, seed, section='', group='three', status='done', **metrics):
    return dict(cell=f'{row}-{seed}', status=status, section=section, row=row, method=row, forget_set=group,
                forget_classes=group, n_forget=1, seed=seed, **metrics)


REFERENCES = {'original.acc_ft': 100.0, 'original.acc_rt': 99.0, 'original.sha256': 'o', 'original.train_s': 40.0,
              'retrain.acc_ft': 0.0, 'retrain.acc_rt': 98.0, 'retrain.h_mean': 98.99, 'retrain.sha256': 'r',
              'retrain.train_s': 30.0}


def titled(*keys: str) -> dict:
    """The columns ``keys`` with their titles, as the benchmark passes them: the evaluator's, then its own."""
    titles = {**ClassificationEvaluator.columns, **EXTRA_TITLES}
    return {k: titles[k] for k in keys}


def hand_records():
    return [
        _record('RandomLabel', 0, acc_ft=0.0, acc_rt=90.0, time_s=2.0, **REFERENCES),
        _record('RandomLabel', 1, acc_ft=1.0, acc_rt=94.0, time_s=4.0, **REFERENCES),
        _record('RandomLabel', 2, acc_ft=2.0, acc_rt=92.0, time_s=3.0, **REFERENCES),
        _record('BadTeacher (R)', 0, acc_ft=5.0, acc_rt=97.0, time_s=10.0, **REFERENCES),
        _record('BadTeacher (R)', 1, status='failed'),
        _record('DELETE', 0, acc_ft=0.0, acc_rt=98.5, time_s=1.5, **REFERENCES),
    ]


def test_aggregation_is_mean_and_sample_std_over_seeds():
    table = aggregate(hand_records(), ['acc_ft', 'acc_rt', 'time_s', 'speedup'])['']['three']
    assert list(table) == ['Original', 'Retrain', 'RandomLabel', 'BadTeacher (R)', 'DELETE']
    random_label = table['RandomLabel']
    assert (random_label['acc_ft'].mean, random_label['acc_ft'].std, random_label['acc_ft'].n) == (1.0, 1.0, 3)
    assert random_label['acc_rt'].mean == pytest.approx(92.0) and random_label['acc_rt'].std == pytest.approx(2.0)
    assert random_label['speedup'].mean == pytest.approx(30.0 / 3.0)
    assert table['BadTeacher (R)']['acc_ft'].n == 1 and table['BadTeacher (R)']['acc_ft'].std is None
    assert table['Original']['acc_ft'].n == 1, 'one original model, however many cells share it'
    assert table['Original']['time_s'].mean == 40.0 and table['Original']['speedup'] is None
    assert table['Retrain']['speedup'].mean == 1.0 and table['DELETE']['speedup'].mean == pytest.approx(20.0)


def test_tables_have_the_papers_rows_and_columns():
    records = hand_records()
    md = markdown_tables(records, titled('acc_ft', 'acc_rt', 'h_mean', 'time_s', 'speedup'), 'demo')
    rows = [line.split('|')[1].strip() for line in md.splitlines() if line.startswith('| ') and '---' not in line]
    assert rows == ['method', 'Original', 'Retrain', 'RandomLabel', 'BadTeacher (R)', 'DELETE']
    assert '| RandomLabel | 1.00 ± 1.00 | 92.00 ± 2.00 | – | 3.0 ± 1.0 | 10× |' in md
    assert '| Original | 100.00 | 99.00 | – | 40.0 | – |' in md
    assert '| Retrain | 0.00 | 98.00 | 98.99 | 30.0 | 1.0× |' in md
    assert 'over 3 seeds (0, 1, 2)' in md and '1 of 6 cells are not finished (failed)' in md
    assert '| method | Acc_ft ↓ | Acc_rt ↑ | H-Mean ↑ | Time (s) | Speed-up |' in md
    tex = latex_tables(records, titled('acc_ft', 'acc_rt', 'time_s'), 'demo')
    assert r'Method & Acc$_{ft}\downarrow$ & Acc$_{rt}\uparrow$ & Time (s) \\' in tex
    assert r'\multicolumn{3}{c}{three}' in tex and r'1.00$\pm$1.00' in tex and r'BadTeacher (R)' in tex
    assert tex.index('Retrain') < tex.index(r'\midrule', tex.index('Retrain')) < tex.index('RandomLabel')


def test_the_note_flags_timings_that_shared_their_core():
    records = [dict(r, threads=1, cpu_s=r.get('time_s')) for r in hand_records()]
    assert 'Contended' not in markdown_tables(records, ['acc_ft'], 'demo')
    records[1]['cpu_s'] = 0.79 * records[1]['time_s']  # one run got 79 % of its core
    records[2].update(threads=2, cpu_s=0.5 * records[2]['time_s'])  # two threads: not judged
    md = markdown_tables(records, ['acc_ft'], 'demo')
    assert 'Contended timing: 1 of 5 runs (one thread) had under 80% of a core' in md
    slow_oracle = [dict(r, **{'retrain.threads': 1, 'retrain.train_cpu_s': 15.0}) for r in records]
    assert "1 of 5 runs and the oracle's training (one thread)" in markdown_tables(slow_oracle, ['acc_ft'], 'demo')


def test_time_includes_building_the_forget_set_and_the_note_says_so():
    """A trigger recovery is part of what a backdoor defense costs: counted in Time, left out of the contention
    check (its CPU time is not measured) and named in the note."""
    records = [dict(r, threads=1, cpu_s=r.get('time_s')) for r in hand_records()]
    assert 'building its forget set' not in markdown_tables(records, ['acc_ft'], 'demo')
    built = [dict(r, request_s=12.0, time_s=r['time_s'] + 12.0) if r.get('time_s') else r for r in records]
    md = markdown_tables(built, ['acc_ft'], 'demo')
    assert "A method's time includes building its forget set from the original (e.g. a trigger recovery: " \
           '12.0-12.0 s)' in md and 'Contended' not in md


def test_the_note_flags_an_oracle_timed_with_other_threads_than_the_runs(tmp_path):
    records = [dict(r, threads=1, cpu_s=r.get('time_s'), **{'retrain.threads': 1}) for r in hand_records()]
    assert 'Unequal threads' not in markdown_tables(records, ['acc_ft'], 'demo')
    csv_file = tmp_path / 'results.csv'  # as a merged row comes back: its counts written as floats
    csv_file.write_text(results_csv([dict(r, **{'retrain.threads': 2.0}) for r in records]))
    two_thread_oracle = read_results(csv_file)
    assert ('Unequal threads: Retrain trained with 2, the methods unlearned with 1: the speed-up compares'
            in markdown_tables(two_thread_oracle, ['acc_ft'], 'demo'))


def test_column_groups_per_forget_set_and_a_table_per_reference_setting():
    records = [dict(r, forget_set=g, section=s) for s in ('model.depth=20', 'model.depth=32')
               for g in ('couch', '2 classes') for r in hand_records()]
    md = markdown_tables(records, titled('acc_ft', 'acc_rt', 'h_mean'), 'table4')
    assert md.count('## model.depth=') == 2
    assert '| method | couch: Acc_ft ↓ | couch: Acc_rt ↑ | couch: H-Mean ↑ | 2 classes: Acc_ft ↓ |' in md
    tex = latex_tables(records, titled('acc_ft', 'acc_rt', 'h_mean'), 'table4')
    assert tex.count(r'\begin{tabular}{lcccccc}') == 2 and r'\cmidrule(lr){5-7}' in tex


def test_latex_titles_are_derived_from_the_evaluators_titles():
    """No task writes LaTeX: a trailing _sub becomes a subscript, a trailing arrow goes into math mode."""
    columns = titled(*ClassificationEvaluator.columns, 'time_s', 'speedup')
    assert {k: latex_title(t) for k, t in columns.items()} == dict(
        acc_f=r'Acc$_f\downarrow$', acc_r=r'Acc$_r\uparrow$', acc_ft=r'Acc$_{ft}\downarrow$',
        acc_rt=r'Acc$_{rt}\uparrow$', h_mean=r'H-Mean$\uparrow$', mia=r'MIA$\downarrow$', time_s='Time (s)',
        speedup='Speed-up')
    assert latex_title('mIoU_r ↑') == r'mIoU$_r\uparrow$'
    assert latex_title('→ background %') == r'$\rightarrow$ background \%'
    assert latex_title('gap to Retrain ↓') == r'gap to Retrain$\downarrow$'
    tex = latex_tables(hand_records(), ['acc_ft', 'retrain.acc_ft'], 'demo')  # untitled keys: escaped as they are
    assert r'Method & acc\_ft & retrain.acc\_ft \\' in tex


def test_runs_without_an_oracle_have_no_retrain_row(tmp_path):
    """``retrain = None``: metrics.json's retrain and meta.json's checkpoints.retrain are null."""
    from unlearn.benchmark.run import cell_record, check_one_reference_model
    config = write_config(tmp_path, f"methods=['{METHODS / 'delete.py'}'], seeds=[0]")
    (cell,) = expand_grid(Config.fromfile(str(config)), tmp_path / 'out')
    run = cell.work_dir / '20260101_000000_DELETE'
    run.mkdir(parents=True)
    (run / 'metrics.json').write_text(json.dumps(dict(acc_ft=0.0, acc_rt=97.0, original=dict(acc_ft=99.0,
                                                                                             acc_rt=98.0),
                                                      retrain=None)))
    (run / 'meta.json').write_text(json.dumps(dict(
        checkpoints=dict(original=dict(path=str(tmp_path / 'original.pth'), sha256='o'), retrain=None,
                         unlearned=dict(path='unlearned.pth', sha256='u')),
        wall_time_s=dict(unlearn_s=2.0), cpu_time_s=dict(unlearn_s=2.0), torch_threads=1)))
    record = cell_record(cell, run)
    assert record['original.sha256'] == 'o' and record['original.acc_ft'] == 99.0
    assert not any(k.startswith('retrain.') for k in record)
    check_one_reference_model([record])
    table = aggregate([record], ['acc_ft', 'acc_rt', 'time_s', 'speedup'])['']['three']
    assert list(table) == ['Original', 'DELETE'] and table['DELETE']['speedup'] is None
    md = markdown_tables([record], titled('acc_ft', 'acc_rt', 'time_s', 'speedup'), 'no oracle')
    assert '| DELETE | 0.00 | 97.00 | 2.0 | – |' in md and 'Retrain |' not in md
    tex = latex_tables([record], titled('acc_ft'), 'no oracle')
    assert tex.index('Original') < tex.index(r'\midrule', tex.index('Original')) < tex.index('DELETE')


def test_cell_names_ignore_custom_imports(tmp_path):
    """Naming the task's package changes no result: finished cells are found whatever custom_imports says."""
    from unlearn.benchmark.grid import cell_hash
    cfg = expand_grid(Config.fromfile(str(write_config(tmp_path, 'seeds=[0]'))), tmp_path / 'out')[0].config.to_dict()
    assert cfg['custom_imports'] == dict(imports=['tasks.classification'])
    without = {k: v for k, v in cfg.items() if k != 'custom_imports'}
    assert cell_hash(cfg) == cell_hash(without) == cell_hash(dict(cfg, work_dir='elsewhere'))
    assert cell_hash(cfg) != cell_hash(dict(cfg, retrain=None)), 'a run without an oracle is another cell'


# A benchmark that is a part of another shares its folder, so their finished runs are shared.
PART_OF = {'cifar10_resnet20_cpu_table1_forget_only': 'cifar10_resnet20_cpu_table1',
           'cifar10_resnet20_cpu_table1_headline': 'cifar10_resnet20_cpu_table1'}


@pytest.mark.parametrize('path', BENCHMARK_CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_benchmark_expands(path: Path, tmp_path):
    cells = expand_grid(Config.fromfile(str(path)), tmp_path)
    spec = Config.fromfile(str(path)).benchmark
    assert len({c.key for c in cells}) == len(cells) > 0
    whole = PART_OF.get(path.stem, path.stem)
    assert spec.out_dir.endswith(whole), 'each benchmark writes to its own folder (or that of the grid it is part of)'
    if whole != path.stem:
        whole_cells = expand_grid(Config.fromfile(str(path.with_name(f'{whole}.py'))), tmp_path)
        assert {c.key for c in cells} < {c.key for c in whole_cells}, 'a part shares only cells of the whole'


@pytest.fixture(scope='module')
def tiny_grid(tmp_path_factory, digits_cache):
    """2 methods x 2 seeds, one epoch each, through the CLI on the digits default."""
    folder = tmp_path_factory.mktemp('bench')
    config = write_config(folder, f"""
        methods=['{METHODS / 'random_label.py'}', '{METHODS / 'delete.py'}'], seeds=[0, 1], threads=1,
        figures=['seed_boxplot']""", extra='schedule = dict(max_epochs=1, curve_interval=0)')
    args = [config, '--out-dir', folder / 'out', '--cfg-options', f'checkpoint_dir={digits_cache}']
    status, stdout, err = run_tool('benchmark.py', *args)
    assert status == 0, err
    return folder / 'out', args, stdout


def _run_folders(out: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in out.glob('runs/*/*') if p.is_dir()}


def test_tiny_grid_end_to_end(tiny_grid):
    out, _, stdout = tiny_grid
    assert len(_run_folders(out)) == 4
    with open(out / 'results.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [(r['row'], r['seed'], r['status']) for r in rows] == [
        ('RandomLabel', '0', 'done'), ('RandomLabel', '1', 'done'), ('DELETE', '0', 'done'), ('DELETE', '1', 'done')]
    assert all(float(r['time_s']) > 0 and float(r['retrain.train_s']) > 0 and r['run_dir'] for r in rows)
    assert all(0 < float(r['cpu_s']) and r['threads'] == '1' and float(r['retrain.train_cpu_s']) > 0 for r in rows)
    assert {'acc_f', 'acc_r', 'acc_ft', 'acc_rt', 'h_mean', 'mia', 'mia_all.prob', 'retrain.acc_rt'} <= set(rows[0])
    table = (out / 'table.md').read_text()
    assert table in stdout
    body = [line.split('|')[1].strip() for line in table.splitlines() if line.startswith('| ')][1:]
    assert body == ['Original', 'Retrain', 'RandomLabel', 'DELETE']
    assert '±' in table and '×' in table
    assert '| method | Acc_f ↓ | Acc_r ↑ | Acc_ft ↓ | Acc_rt ↑ | H-Mean ↑ | MIA ↓ | Time (s) | Speed-up |' in table, \
        "the titles are the task evaluator's"
    index = json.loads((out / 'benchmark.json').read_text())
    assert index['columns'] == [*ClassificationEvaluator.columns, 'time_s', 'speedup']
    assert index['titles']['acc_ft'] == 'Acc_ft ↓', 'kept for the figures drawn later from results.csv'
    assert r'Acc$_{ft}\downarrow$' in (out / 'table.tex').read_text()
    assert (out / 'table.tex').is_file() and (out / 'seed_boxplot.png').stat().st_size > 0
    assert 'cell 4/4' in (out / 'benchmark.log').read_text()


def test_rerun_skips_finished_cells_and_keeps_the_previous_grid(tiny_grid):
    out, args, _ = tiny_grid
    before = _run_folders(out)
    old_results = (out / 'results.csv').read_text()
    status, stdout, err = run_tool('benchmark.py', *args)
    assert status == 0 and 'Ran 0 of 4 cells' in stdout, err
    assert _run_folders(out) == before
    status, stdout, err = run_tool('benchmark.py', *args, 'benchmark.seeds=[0,1,2]')
    assert status == 0 and 'Ran 2 of 6 cells' in stdout, err
    after = _run_folders(out)
    assert len(after) == 6 and all(after[p] == t for p, t in before.items()), 'finished runs are never touched'
    assert 'finished before' in (out / 'benchmark.log').read_text()
    kept = list(out.glob('previous/*/results.csv'))
    assert len(kept) == 1 and kept[0].read_text() == old_results, "the 4-cell grid's results are kept"
    assert len(read_results(out / 'results.csv')) == 6


def test_cells_finished_elsewhere_are_merged_not_rerun(tiny_grid, tmp_path):
    """A grid kept across checkouts or machines: another results.csv's finished cells count as done here."""
    out, args, _ = tiny_grid
    elsewhere = tmp_path / 'elsewhere.csv'

    def write_elsewhere(rows):
        with elsewhere.open('w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    rows = [r for r in csv.DictReader((out / 'results.csv').open(newline='')) if r['seed'] in ('0', '1')]
    write_elsewhere(rows)
    here = [args[0], '--out-dir', tmp_path / 'out', *args[3:], 'benchmark.seeds=[0,1,2]']
    status, stdout, err = run_tool('benchmark.py', *here, '--dry-run', '--merge', elsewhere)
    assert status == 0, err
    assert [line.split()[0] for line in stdout.splitlines()[:6]] == ['merged'] * 2 + ['pending'] + ['merged'] * 2 + [
        'pending']
    status, stdout, err = run_tool('benchmark.py', *here, '--merge', elsewhere)
    assert status == 0 and 'Ran 2 of 6 cells' in stdout, err
    assert len(_run_folders(tmp_path / 'out')) == 2, 'only the seed no results.csv had was run'
    records, theirs = read_results(tmp_path / 'out' / 'results.csv'), read_results(elsewhere)
    assert [r['status'] for r in records] == ['done'] * 6 and [r['seed'] for r in records] == [0, 1, 2] * 2
    merged = [r for r in records if r.get('merged_from')]
    assert [(r['cell'], r['h_mean'], r['original.sha256']) for r in merged] == [
        (r['cell'], r['h_mean'], r['original.sha256']) for r in theirs]
    assert 'over 3 seeds (0, 1, 2)' in (tmp_path / 'out' / 'table.md').read_text()
    status, _, err = run_tool('benchmark.py', *here[:1], '--out-dir', tmp_path / 'again', *here[3:], '--results-only',
                              '--merge', tmp_path / 'out' / 'results.csv')
    assert status == 0, err
    again = read_results(tmp_path / 'again' / 'results.csv')
    through = str(tmp_path / 'out' / 'results.csv')
    assert [r['merged_from'] for r in again] == [str(elsewhere) if r.get('merged_from') else through
                                                 for r in records], \
        'a row merged twice names the file its run came from, not the file it was merged through'
    ablation = tmp_path / 'ablation'
    ablation.mkdir()
    config = write_config(ablation, f"methods=['{METHODS / 'delete.py'}'], seeds=[0], threads=1, "
                          "grid={'method.alpha': [0.0, 0.5]}", extra='schedule = dict(max_epochs=1, curve_interval=0)')
    status, stdout, err = run_tool('benchmark.py', config, *here[1:5], '--dry-run', '--merge', elsewhere)
    assert status == 0, err
    assert [line.split()[0] for line in stdout.splitlines()[:2]] == ['merged', 'pending'], \
        "another grid's DELETE run is this grid's alpha = 0 cell: same config, same hash"

    rows[1]['original.sha256'] = 'f' * 64  # a run of another original model (another cache)
    write_elsewhere(rows)
    status, _, err = run_tool('benchmark.py', *here, '--results-only', '--merge', elsewhere)
    assert status == 2 and 'runs of 2 different original checkpoints' in err, err
    assert f'ffffffffffff in {elsewhere}' in err, 'the message says where the other model came from'
    status, _, err = run_tool('benchmark.py', *here, '--results-only', '--merge', tmp_path / 'missing.csv')
    assert status == 2 and 'no results file' in err, err


def test_a_failing_cell_is_recorded_and_the_grid_goes_on(tmp_path, digits_cache, monkeypatch):
    import unlearn.benchmark.run as bench_run

    real = bench_run.run_unlearning

    def flaky(cfg):
        if cfg.seed == 0:
            raise RuntimeError('out of memory')
        return real(cfg)

    monkeypatch.setattr(bench_run, 'run_unlearning', flaky)
    config = write_config(tmp_path, f"methods=['{METHODS / 'delete.py'}'], seeds=[0, 1], threads=1",
                          extra='schedule = dict(max_epochs=1, curve_interval=0)')
    status, stdout, err = run_tool('benchmark.py', config, '--out-dir', tmp_path / 'out', '--cfg-options',
                                   f'checkpoint_dir={digits_cache}')
    assert status == 1 and '1 of 2 cells failed' in err
    records = read_results(tmp_path / 'out' / 'results.csv')
    assert [(r['status'], r['error']) for r in records] == [('failed', 'RuntimeError: out of memory'), ('done', None)]
    assert json.loads((tmp_path / 'out' / 'benchmark.json').read_text())['failures']
    assert '1 of 2 cells are not finished (failed)' in (tmp_path / 'out' / 'table.md').read_text()


def test_processes_share_a_grid_cell_by_cell(tmp_path, digits_cache):
    """A cell another process holds is skipped (and reported as running); a killed run's leftovers go."""
    from unlearn.benchmark.run import locked
    config = write_config(tmp_path, f"methods=['{METHODS / 'delete.py'}'], seeds=[0, 1], threads=1",
                          extra='schedule = dict(max_epochs=1, curve_interval=0)')
    args = [config, '--out-dir', tmp_path / 'out', '--cfg-options', f'checkpoint_dir={digits_cache}']
    held, killed = expand_grid(Config.fromfile(config), tmp_path / 'out')
    leftover = killed.work_dir / '.20260101_000000_DELETE.partial'
    leftover.mkdir(parents=True)
    with locked(held.work_dir, wait=False) as taken:
        assert taken
        status, stdout, err = run_tool('benchmark.py', *args)
        assert status == 0 and 'Ran 1 of 2 cells' in stdout, err
        assert [r['status'] for r in read_results(tmp_path / 'out' / 'results.csv')] == ['running', 'done']
        status, stdout, _ = run_tool('benchmark.py', *args, '--dry-run')
        assert [line.split()[0] for line in stdout.splitlines()[:2]] == ['running', 'done']
    log = (tmp_path / 'out' / 'benchmark.log').read_text()
    assert 'another process is running it, skipped' in log and 'left by a run that was killed' in log
    assert not leftover.exists() and not any(held.work_dir.iterdir()), 'the held cell was never touched'

    status, stdout, err = run_tool('benchmark.py', *args, '--results-only')
    assert status == 0 and 'Ran 0 of 2 cells' in stdout, err
    assert not any(held.work_dir.iterdir())
    assert '1 of 2 cells are not finished (pending)' in (tmp_path / 'out' / 'table.md').read_text()
    status, stdout, err = run_tool('benchmark.py', *args)
    assert status == 0 and 'Ran 1 of 2 cells' in stdout, err
    assert [r['status'] for r in read_results(tmp_path / 'out' / 'results.csv')] == ['done', 'done']


def test_plots_and_tsne_from_the_grid(tiny_grid, tmp_path):
    out, _, _ = tiny_grid
    status, _, err = run_tool('analysis/plot_results.py', out / 'results.csv', 'forget_set_size', '--out',
                              tmp_path / 'sizes.png')
    assert status == 0 and (tmp_path / 'sizes.png').stat().st_size > 0, err
    status, _, err = run_tool('analysis/plot_results.py', out / 'results.csv', 'sweep')
    assert status == 2 and 'sweep needs --keys' in err, err
    delete, random_label = (sorted(out.glob(f'runs/{m}-*seed0*/*'))[0] for m in ('delete', 'random_label'))
    status, stdout, err = run_tool('analysis/tsne.py', delete, random_label, '--samples', 60, '--out',
                                   tmp_path / 'tsne.png')
    assert status == 0, err
    assert [line.split(':')[0] for line in stdout.splitlines()[:4]] == ['Original', 'Retrain', 'DELETE', 'RandomLabel']
    assert (tmp_path / 'tsne.png').stat().st_size > 0

    from unlearn.run_folders import load_run_networks
    older = tmp_path / 'older_run'
    shutil.copytree(delete, older)
    meta = json.loads((older / 'meta.json').read_text())
    del meta['method_table_name']  # run folders of earlier versions do not have it
    (older / 'meta.json').write_text(json.dumps(meta))
    assert list(load_run_networks([older])[1]) == ['Original', 'Retrain', 'DELETE']


def test_tsne_panels_on_tiny_inputs(tmp_path):
    from tasks.classification.visualization import plot_tsne, tsne_2d
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 8)
    features = rng.normal(size=(24, 5)) + labels[:, None] * 3
    embeddings = {name: tsne_2d(features) for name in ('Original', 'DELETE')}
    assert embeddings['DELETE'].shape == (24, 2)
    path = plot_tsne(embeddings, labels, ['a', 'b', 'c'], [1], tmp_path / 'tsne.png')
    assert path.stat().st_size > 0


def test_methods_sweep_draws_each_row_against_the_swept_key_with_its_own_retrain(tmp_path, monkeypatch):
    """A panel per metric, a line per table row through its mean over seeds at each value of the one swept key,
    and Retrain dashed through each value's own oracle (the backdoor's trigger sizes each have an original)."""
    from unlearn.benchmark import figures
    drawn = []
    monkeypatch.setattr(figures, 'save_figure', lambda fig, path: drawn.append(fig) or path)
    records = [_record(row, seed, **{'task.attack.size': size, 'asr': base + size + seed, 'clean_acc': 90.0,
                                     'retrain.asr': 10.0 * size, 'retrain.clean_acc': 91.0})
               for row, base in (('DELETE', 0.0), ('Finetune (R)', 50.0)) for size in (3, 1, 2) for seed in (0, 2)]
    figures.methods_sweep_plot(records, tmp_path / 'm.png', ['task.attack.size'], metrics=['asr', 'clean_acc'])
    [fig] = drawn
    asr_panel, clean_panel = fig.axes
    handles, labels = asr_panel.get_legend_handles_labels()
    lines = {label: handle[0] if isinstance(handle, tuple) else handle for handle, label in zip(handles, labels)}
    assert list(lines['DELETE'].get_xdata()) == [1, 2, 3]
    assert list(lines['DELETE'].get_ydata()) == [2.0, 3.0, 4.0], 'mean over the seeds at each size'
    assert list(lines['Finetune (R)'].get_ydata()) == [52.0, 53.0, 54.0]
    assert list(lines['Retrain'].get_ydata()) == [10.0, 20.0, 30.0] and lines['Retrain'].get_linestyle() == '--'
    assert clean_panel.get_ylabel() == 'clean_acc (%)'
    drawn.clear()
    held = records + [dict(r, **{'train_schedule.seed': 2022}) for r in records if r['task.attack.size'] == 3]
    for r in records:
        r['train_schedule.seed'] = 0
    figures.methods_sweep_plot(held, tmp_path / 'h.png', ['task.attack.size', 'train_schedule.seed'], metrics=['asr'])
    [fig] = drawn
    size_panel, seed_panel = fig.axes
    handles, labels = size_panel.get_legend_handles_labels()
    assert list(dict(zip(labels, handles))['DELETE'][0].get_ydata()) == [2.0, 3.0, 4.0], \
        'the size sweep holds the seed at its most common value'
    assert 'train_schedule.seed' in seed_panel.get_xlabel() and 'task.attack.size=3' in seed_panel.get_xlabel()
    handles, labels = seed_panel.get_legend_handles_labels()
    seed_line = dict(zip(labels, handles))['DELETE'][0]
    ticks = [t.get_text() for t in seed_panel.get_xticklabels()]
    assert list(seed_line.get_xdata()) == [0, 1] and ticks == ['0', '2022'], 'seeds are labels, evenly spaced'
    with pytest.raises(UnlearnError, match='takes two values'):
        figures.methods_sweep_plot(records, tmp_path / 'n.png', ['train_schedule.seed'], metrics=['asr'])


def test_a_figure_against_grid_keys_is_refused_before_running_when_no_key_varies(tmp_path):
    config = write_config(tmp_path, f"methods=['{METHODS / 'delete.py'}'], figures=['methods_sweep']")
    with pytest.raises(UnlearnError, match=r"\['methods_sweep'\] plot the metrics against a grid key, and this grid "
                                           'varies none'):
        run_benchmark(Config.fromfile(str(config)), out_dir=tmp_path / 'out')
    assert not (tmp_path / 'out').exists()
