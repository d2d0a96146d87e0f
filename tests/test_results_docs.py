"""docs/results.md says only what the committed data shows (issue #13, item 8).

Every table in docs/results.md is either backed by committed per-run CSVs (``docs/results/*.csv``, the
benchmark's ``results.csv``) or listed below as not backed, with the reason; a new table that is neither fails.
Every cell of a backed table (mean ± sample std over seeds, single-seed values, the Original / Retrain rows)
is recomputed from its CSVs with the project's own reader and aggregation (``read_results``, ``aggregate``,
``format_stat``: the same rounding and the same sample standard deviation as ``tools/benchmark.py``'s
``table.md``). Numbers quoted in the prose are checked too: every "mean ± std" must be a cell of one of the
tables, and the single-seed values, ranges and means the text ties to CSV rows are recomputed. No training.
"""
import csv
import functools
import re
import statistics

import pytest

from conftest import REPO
from unlearn.benchmark import aggregate, read_results
from tasks.classification.evaluator import ClassificationEvaluator
from unlearn.benchmark.tables import EXTRA_TITLES, format_stat
from unlearn.metrics import h_mean

DOC = REPO / 'docs' / 'results.md'
README = REPO / 'README.md'
CSV_DIR = REPO / 'docs' / 'results'
TABLE1_CSV = 'cifar10_resnet20_cpu_table1.csv'
TABLE5_CSV = 'cifar10_resnet20_cpu_table5_ablation.csv'
FACE_CSV = 'yaleb_r18_cpu_face.csv'
FACE_VARIANTS_CSV = 'yaleb_r18_cpu_face_delete_variants.csv'
SYNTHETIC_FACE_CSV = 'synthetic_face_originals.csv'
ORL_CSV = 'orl_r18_cpu_face.csv'
DIGITS_BACKDOOR_CSV = 'digits_backdoor_trigger_sizes.csv'
CIFAR_BACKDOOR_CSV = 'cifar10_resnet20_cpu_backdoor_3x3.csv'
CIFAR_BACKDOOR_KNOWN_CSV = 'cifar10_resnet20_cpu_backdoor_3x3_known_trigger.csv'
CIFAR_BACKDOOR_SEEDS_CSV = 'cifar10_resnet20_cpu_backdoor_3x3_seeds.csv'
CIFAR_BACKDOOR_SCANS_CSV = 'cifar10_resnet20_cpu_backdoor_3x3_scans.csv'
CIFAR_BACKDOOR_SIZES_CSV = 'cifar10_resnet20_cpu_backdoor_trigger_sizes.csv'
CIFAR_BACKDOOR_SIZES_KNOWN_CSV = 'cifar10_resnet20_cpu_backdoor_trigger_sizes_known_trigger.csv'
CIFAR_BACKDOOR_VARIANTS_CSV = 'cifar10_resnet20_cpu_backdoor_delete_variants.csv'
CIFAR_BACKDOOR_FROZEN_BN_CSV = 'cifar10_resnet20_cpu_backdoor_trigger_sizes_frozen_bn_remain.csv'
CIFAR_VISIBILITY_CSV = 'cifar10_resnet20_cpu_backdoor_trigger_visibility.csv'
CIFAR_BACKDOOR_SELECTION_CSV = 'cifar10_resnet20_cpu_backdoor_frozen_bn_selection.csv'

#: heading of the section holding the table -> the committed CSVs its rows are computed from.
BACKED = {
    'The conclusion on a second original model (a later checkout)': [TABLE1_CSV],
    'Table 5 ablation (alpha, T) on real CIFAR-10, CPU-sized (issue #3)': [TABLE5_CSV],
    'Face recognition: forgetting one identity on Extended Yale B (issue #15)': [FACE_CSV],
    "DELETE's variants on Yale B: what the loss of the remaining identities is not": [FACE_VARIANTS_CSV],
    'Face recognition: forgetting one identity on ORL (issue #15)': [ORL_CSV],
    'Digits, 1x1 trigger': [DIGITS_BACKDOOR_CSV],
    'Digits, 2x2 trigger (the default)': [DIGITS_BACKDOOR_CSV],
    'Digits, 3x3 trigger': [DIGITS_BACKDOOR_CSV],
    "CIFAR-10 3x3, Neural Cleanse's trigger": [CIFAR_BACKDOOR_CSV],
    "CIFAR-10 3x3, the attack's own trigger (KnownTrigger)": [CIFAR_BACKDOOR_KNOWN_CSV],
    'CIFAR-10 3x3, the original of training seed 1': [CIFAR_BACKDOOR_SEEDS_CSV],
    'CIFAR-10 3x3, the original of training seed 2': [CIFAR_BACKDOOR_SEEDS_CSV],
    "CIFAR-10 1x1, Neural Cleanse's trigger": [CIFAR_BACKDOOR_SIZES_CSV],
    "CIFAR-10 2x2, Neural Cleanse's trigger": [CIFAR_BACKDOOR_SIZES_CSV],
    "CIFAR-10 4x4, Neural Cleanse's trigger": [CIFAR_BACKDOOR_SIZES_CSV],
    "CIFAR-10 5x5, Neural Cleanse's trigger": [CIFAR_BACKDOOR_SIZES_CSV],
    "DELETE's variants on CIFAR-10 4x4, the attack's own trigger": [CIFAR_BACKDOOR_VARIANTS_CSV],
    "DELETE's variants on CIFAR-10 5x5, the attack's own trigger": [CIFAR_BACKDOOR_VARIANTS_CSV],
    "Choosing DELETE (R)'s setting on the defender's held-out images, 4x4": [CIFAR_BACKDOOR_SELECTION_CSV],
    "Choosing DELETE (R)'s setting on the defender's held-out images, 5x5": [CIFAR_BACKDOOR_SELECTION_CSV],
}
#: heading -> the benchmark table (its ``section``: a value of a reference-model grid key) it shows, where the
#: benchmark wrote several.
SECTION_OF = {
    'Digits, 1x1 trigger': 'task.attack.size=1',
    'Digits, 2x2 trigger (the default)': 'task.attack.size=2',
    'Digits, 3x3 trigger': 'task.attack.size=3',
    'CIFAR-10 3x3, the original of training seed 1': 'train_schedule.seed=1',
    'CIFAR-10 3x3, the original of training seed 2': 'train_schedule.seed=2',
    "CIFAR-10 1x1, Neural Cleanse's trigger": 'task.attack.size=1',
    "CIFAR-10 2x2, Neural Cleanse's trigger": 'task.attack.size=2',
    "CIFAR-10 4x4, Neural Cleanse's trigger": 'task.attack.size=4',
    "CIFAR-10 5x5, Neural Cleanse's trigger": 'task.attack.size=5',
    "DELETE's variants on CIFAR-10 4x4, the attack's own trigger": 'task.attack.size=4',
    "DELETE's variants on CIFAR-10 5x5, the attack's own trigger": 'task.attack.size=5',
    "Choosing DELETE (R)'s setting on the defender's held-out images, 4x4": 'task.attack.size=4',
    "Choosing DELETE (R)'s setting on the defender's held-out images, 5x5": 'task.attack.size=5',
}
_LOST = ("first original model: its run folders and results.csv lived in an earlier checkout's work_dirs/, which "
         'git does not keep, and were lost with it; the original and oracle cannot be rebuilt bit for bit')
#: heading of the section holding the table -> the committed CSV behind a table of its own layout (not a benchmark
#: table.md), which a test of its own renders again from the CSV.
OWN_LAYOUT = {
    'bf16 against fp32: DELETE on real CIFAR-10, CPU-sized (issue #17)': ['cifar10_resnet20_cpu_precision.csv'],
    'The synthetic face default over six originals (issue #15)': [SYNTHETIC_FACE_CSV],
    "CIFAR-10 3x3 over three originals: the issue's bar": [CIFAR_BACKDOOR_SEEDS_CSV],
    'Neural Cleanse on each original and on the clean oracle': [CIFAR_BACKDOOR_SCANS_CSV],
    "CIFAR-10, 1x1 to 5x5: every row's DER": [CIFAR_BACKDOOR_SIZES_CSV, CIFAR_BACKDOOR_SIZES_KNOWN_CSV],
    "DELETE (R) with frozen batch norm, Neural Cleanse's trigger": [
        CIFAR_BACKDOOR_SIZES_CSV, CIFAR_BACKDOOR_FROZEN_BN_CSV],
    'How much the trigger changes the image': [CIFAR_VISIBILITY_CSV],
}
#: heading of the section holding the table -> why no committed CSV backs it.
NOT_BACKED = {
    'Table 1 on real CIFAR-10, CPU-sized (issue #3)': _LOST,
    'Seed 2022 on the first original (an earlier checkout)': _LOST,
    'Semantic segmentation: forgetting "dog" on real PASCAL VOC 2012 (issue #4)':
        "one seed; its results.csv was never committed (the runs lived in an earlier checkout's work_dirs/)",
}


def column_titles() -> dict:
    """metric key -> column title, as the benchmark titles its tables: the task evaluators' ``columns``, then the
    benchmark's own (time, speed-up)."""
    from tasks.backdoor.evaluator import BackdoorEvaluator
    from tasks.face.evaluator import FaceEvaluator
    evaluators = [ClassificationEvaluator, FaceEvaluator, BackdoorEvaluator]
    try:
        from tasks.segmentation.evaluator import SegmentationEvaluator
    except ImportError:  # mmsegmentation not installed: no backed table has its columns (its table is NOT_BACKED)
        pass
    else:
        evaluators.append(SegmentationEvaluator)
    titles = {}
    for evaluator in evaluators:
        for key, title in evaluator.columns.items():
            assert titles.setdefault(key, title) == title, f'two evaluators title {key} differently'
    return {**titles, **EXTRA_TITLES}


TITLES = column_titles()
COLUMN_KEYS = {title: key for key, title in TITLES.items()}
assert len(COLUMN_KEYS) == len(TITLES), 'two metrics with one title: a table column would be ambiguous'
PLUS_MINUS = re.compile(r'\d+(?:\.\d+)? ± \d+(?:\.\d+)?')


def doc_tables(text: str):
    """``{heading: [table, ...]}``, each table a list of rows, each row a list of cells (code blocks skipped)."""
    tables, heading, current, fenced = {}, None, None, False
    for line in text.splitlines():
        if line.startswith('```'):
            fenced = not fenced
        if fenced or line.startswith('```'):
            current = None
            continue
        if line.startswith('#'):
            heading = line.lstrip('#').strip()
        if line.startswith('|'):
            if current is None:
                current = []
                tables.setdefault(heading, []).append(current)
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if not all(set(c) <= set('-') for c in cells):  # skip the |---| rule
                current.append(cells)
        else:
            current = None
    return tables


def prose(text: str) -> str:
    """The text outside tables and code blocks, whitespace collapsed (claims wrap across lines)."""
    keep, fenced = [], False
    for line in text.splitlines():
        if line.startswith('```'):
            fenced = not fenced
            continue
        if not fenced and not line.startswith('|'):
            keep.append(line)
    return ' '.join(' '.join(keep).split())


def section_prose(text: str, heading: str) -> str:
    """The prose of ``text`` from ``heading`` up to the next level-2 heading."""
    return prose(text[text.index(heading):].split('\n## ')[0])


def records(*names):
    return [r for name in names for r in read_results(CSV_DIR / name)]


def done(names, row=None):
    return [r for r in records(*names) if r['status'] == 'done' and (row is None or r['row'] == row)]


TEXT = DOC.read_text()
TABLES = doc_tables(TEXT)
PROSE = prose(TEXT)


def test_every_table_is_either_backed_by_a_committed_csv_or_listed_with_its_reason():
    assert not set(BACKED) & set(NOT_BACKED) and not set(BACKED) & set(OWN_LAYOUT)
    for heading, tables in TABLES.items():
        assert heading in BACKED or heading in NOT_BACKED or heading in OWN_LAYOUT, (
            f'docs/results.md: the table under "{heading}" is neither backed by a committed CSV (BACKED) nor '
            'listed as not backed, with the reason (NOT_BACKED): commit its results.csv under docs/results/')
        assert len(tables) == 1, f'"{heading}" holds {len(tables)} tables: give each its own section or entry'
    stale = (set(BACKED) | set(NOT_BACKED) | set(OWN_LAYOUT)) - set(TABLES)
    assert not stale, f'no table under {sorted(stale)} any more: update BACKED / NOT_BACKED / OWN_LAYOUT'
    for names in (*BACKED.values(), *OWN_LAYOUT.values()):
        for name in names:
            assert (CSV_DIR / name).is_file(), name
            assert f'docs/results/{name}' in TEXT, f'the text must name the CSV behind its table: {name}'


def test_the_text_says_which_tables_have_no_committed_csv():
    """The first original's Table 1 once claimed its per-run numbers were in a results.csv that is not here."""
    assert '**Backed by a committed CSV**' in PROSE and '**Not backed by a committed CSV**' in PROSE, \
        'docs/results.md must say which tables a committed CSV backs and which it does not'


def _assert_recomputed(heading: str, table: list, csvs: list) -> None:
    head, *rows = table
    assert head[0] == 'method'
    columns = [COLUMN_KEYS[title] for title in head[1:]]
    groups = aggregate(records(*csvs), columns)
    section = SECTION_OF.get(heading, '')
    assert section in groups and len(groups[section]) == 1, 'one forget set per backed table'
    assert section or list(groups) == [''], f'{heading}: the CSV holds several tables; name its SECTION_OF'
    computed = next(iter(groups[section].values()))
    for name, *cells in rows:
        assert name in computed, f'{heading}: row {name!r} has no run in {csvs}'
        expected = [format_stat(c, computed[name].get(c)) for c in columns]
        assert cells == expected, f'{heading}, row {name!r}: the doc says {cells}, the CSV gives {expected}'


@pytest.mark.parametrize('heading', sorted(BACKED))
def test_backed_table_cells_are_recomputed_from_the_csv(heading):
    (table,) = TABLES[heading]
    _assert_recomputed(heading, table, BACKED[heading])


def test_the_readme_digits_benchmark_table_is_recomputed_from_its_csv():
    """The README's Table-1 layout on digits (``tools/benchmark.py configs/benchmarks/digits_table1.py``)."""
    [table] = [t for tables in doc_tables(README.read_text()).values() for t in tables
               if t[0][0] == 'method' and len(t) > 10]
    _assert_recomputed('README digits_table1', table, ['digits_table1.csv'])


def test_every_mean_and_std_in_the_prose_is_a_cell_of_a_table():
    cells = {c for tables in TABLES.values() for table in tables for row in table for c in row}
    cell_text = ' | '.join(cells)
    for source, text in (('docs/results.md', PROSE), ('README.md', prose(README.read_text()))):
        for quoted in PLUS_MINUS.findall(text):
            assert quoted in cell_text, f'{source} quotes {quoted!r}, which no table of docs/results.md holds'


def _range(values, digits=0, unit=''):
    fmt = f'{{:.{digits}f}}'
    return f'{fmt.format(min(values))}-{fmt.format(max(values))}{unit}'


def test_single_seed_numbers_ranges_and_means_quoted_in_the_prose_match_the_csv():
    by_seed = lambda rows: sorted(rows, key=lambda r: r['seed'])  # noqa: E731
    delete, expand = by_seed(done([TABLE1_CSV], 'DELETE')), by_seed(done([TABLE1_CSV], 'BoundaryExpand'))
    (l2ul,) = done([TABLE1_CSV], 'L2UL [reg_lambda=1.0]')
    table5_new = [r for r in done([TABLE5_CSV]) if 'table5_ablation' in r['run_dir']]
    t10 = by_seed(done([TABLE5_CSV], 'DELETE [temperature=10.0]'))
    t15 = by_seed(done([TABLE5_CSV], 'DELETE [temperature=15.0]'))
    runs = done([TABLE1_CSV, TABLE5_CSV])
    oracle = runs[0]
    h_means = lambda rows: ' / '.join(f'{r["h_mean"]:.2f}' for r in rows)  # noqa: E731
    claims = {
        'per-seed H-Mean, DELETE vs Boundary Expand, second original':
            f'{h_means(delete)} vs {h_means(expand)}',
        'L2UL with its importance term, seed 2022':
            f'Acc_ft {l2ul["acc_ft"]:.0f}, Acc_rt {l2ul["acc_rt"]:.2f}, H-Mean {l2ul["h_mean"]:.2f}',
        "DELETE's unlearning times": 'DELETE ' + _range([r['time_s'] for r in delete], unit=' s'),
        "Boundary Expand's unlearning times": 'Boundary Expand ' + _range([r['time_s'] for r in expand], unit=' s'),
        "DELETE seed 2022's share of its core": f'{100 * delete[0]["cpu_s"] / delete[0]["time_s"]:.0f} % of a core',
        "the oracle's training": f'{oracle["retrain.train_s"]:,.0f} s on **{oracle["retrain.threads"]} threads** '
                                f'({oracle["retrain.train_cpu_s"]:,.0f} CPU-s',
        'Table 5: the 18 new runs': f'{len(table5_new)} other runs',
        'Table 5: their times and mean': _range([r['time_s'] for r in table5_new], unit=' s') + ' of unlearning '
                                         f'per run (mean {statistics.fmean(r["time_s"] for r in table5_new):.0f} s)',
        'Table 5: the least share of a core': '>= {:.1f} %'.format(
            int(1000 * min(r['cpu_s'] / r['time_s'] for r in table5_new)) / 10),
        'Table 5: H-Mean, T = 10 minus T = 15, per seed':
            ' / '.join(f'{a["h_mean"] - b["h_mean"]:.2f}' for a, b in zip(t10, t15)),
        "T = 10's lowest seed and T = 15's highest":
            f'{min(r["h_mean"] for r in t10):.2f}, is below T = 15\'s seed 2022, {t15[0]["h_mean"]:.2f}',
        "the MIA's shadow accuracy over the committed runs, their original and oracle included": _range(
            [r[f'{kind}mia_shadow_accuracy'] for r in runs for kind in ('', 'original.', 'retrain.')],
            digits=1, unit=' %'),
    }
    assert t15[0]['seed'] == 2022 and t15[0]['h_mean'] == max(r['h_mean'] for r in t15)
    assert all(a['seed'] == b['seed'] for a, b in zip(t10, t15))
    for what, expected in claims.items():
        assert expected in PROSE, f'{what}: the CSV gives "{expected}", which docs/results.md does not say'


def test_claims_about_the_first_original_match_its_table():
    """No CSV backs Table 1 on the first original, but what the text derives from the table must follow from it."""
    (table,) = TABLES['Table 1 on real CIFAR-10, CPU-sized (issue #3)']
    head, *rows = table
    value = {row[0]: dict(zip(head[1:], row[1:])) for row in rows}
    mean = lambda name, column: float(value[name][column].split(' ± ')[0])  # noqa: E731
    std = lambda name, column: float(value[name][column].split(' ± ')[1])  # noqa: E731
    original_rt = mean('Original', 'Acc_rt ↑')
    forget_only = [n for n in value if n not in ('Original', 'Retrain', 'DELETE') and '(R)' not in n
                   and value[n]['Acc_rt ↑'] != '–']
    losses = [original_rt - mean(n, 'Acc_rt ↑') for n in forget_only]
    claim = f'loses {min(losses):.1f}-{max(losses):.1f} points of remaining test accuracy'
    assert claim in PROSE, f'the first original\'s table gives "{claim}" for the forget-only baselines'
    # The spread claim: DELETE's is the smallest of the forget-only rows that do not collapse, SCRUB (R)'s smaller.
    assert std('SCRUB (R)', 'H-Mean ↑') < std('DELETE', 'H-Mean ↑')
    assert 'SCRUB (R), which reads the remaining data, has a smaller one' in PROSE, 'SCRUB (R) spreads less'
    middle = ['BoundaryExpand', 'BoundaryShrink', 'RandomLabel', 'SalUn']
    h = [mean(n, 'H-Mean ↑') for n in middle]
    claim = f'within {max(h) - min(h):.1f} H-Mean points'
    assert claim in PROSE, f'the middle four of the first original\'s table lie "{claim}" of each other'
    # Bad Teacher's seed 2024 (67.98) is below Boundary Expand's mean, so it cannot be the best baseline run.
    assert 67.98 < mean('BoundaryExpand', 'H-Mean ↑') and 'best baseline run' not in PROSE, \
        "Bad Teacher's seed 2024 (H 67.98) is below Boundary Expand's mean: not the best baseline run"


def test_the_face_claims_match_the_csvs():
    """The Yale B section's prose: the forget-only rows' remaining accuracy, DELETE's shortfall, the embedding
    TARs beside the oracle's and the variants' numbers, recomputed from the two committed CSVs."""
    section = prose(TEXT[TEXT.index('## Face recognition: forgetting one identity'):])
    runs = done([FACE_CSV])
    reference = runs[0]
    rows = list(dict.fromkeys(r['row'] for r in runs))
    mean = {key: {row: statistics.fmean(r[key] for r in runs if r['row'] == row) for row in rows}
            for key in ('acc_rt', 'acc_ft', 'h_mean')}
    forget_only = {row: v for row, v in mean['acc_rt'].items() if '(R)' not in row}
    kept = {row: v for row, v in forget_only.items() if row != 'InfluenceUnlearn'}
    remain_data = [row for row in rows if '(R)' in row and row != 'FisherForgetting (R)']
    variants = {r['row']: r for r in done([FACE_VARIANTS_CSV])}
    official = variants['DELETE [disable_bn=False, freeze_classifier=False]']
    frozen_bn = variants['DELETE [disable_bn=True, freeze_classifier=False]']
    (delete_2022,) = [r for r in runs if r['row'] == 'DELETE' and r['seed'] == 2022]
    claims = {
        'the original and the oracle': f"The original recognises {reference['original.acc_rt']:.2f} % of their test "
                                       f"faces and the oracle {reference['retrain.acc_rt']:.2f} %",
        'the forget-only rows but Influence': 'the others keep ' + _range(list(kept.values()), digits=2),
        "Influence Unlearn's collapse": f"Influence Unlearn collapses to {forget_only['InfluenceUnlearn']:.2f}",
        "the oracle's and the original's embedding TAR_f":
            f"still verifies {reference['retrain.emb_tar_f']:.2f} % of the forgotten faces (emb_tar_f; the original "
            f"{reference['original.emb_tar_f']:.2f} %)",
        'the forget-only rows above DELETE': ', '.join(
            f'{row} reaches H-Mean {h:.2f}' for h, row in sorted(((mean['h_mean'][row], row) for row in forget_only),
                                                                 reverse=True) if h > mean['h_mean']['DELETE']),
        'the remain-data rows that do not collapse': 'keep more of them (Acc_rt {}) but do not forget at their '
                                                     'defaults (Acc_ft {})'.format(
            *(_range([mean[key][row] for row in remain_data], digits=2) for key in ('acc_rt', 'acc_ft'))),
        "DELETE seed 2022's embedding TAR_f": f"DELETE's seed 2022 verifies {delete_2022['emb_tar_f']:.2f} %",
        'the variants: batch norm': f"lifts H-Mean from {official['h_mean']:.2f} to {frozen_bn['h_mean']:.2f}, but "
                                    f"Acc_rt stays at {frozen_bn['acc_rt']:.2f}",
    }
    for what, expected in claims.items():
        assert expected in section, f'{what}: the CSVs give "{expected}", which the face section does not say'
    assert delete_2022['acc_rt'] == official['acc_rt'], 'the variants\' official cell is the benchmark\'s DELETE run'


def test_the_orl_claims_match_the_csv():
    """The ORL section's prose: what the original knows, DELETE's numbers and rank, the remain-data rows."""
    section = section_prose(TEXT, '## Face recognition: forgetting one identity on ORL')
    runs = {r['row']: r for r in done([ORL_CSV])}
    delete = runs['DELETE']
    methods = {row: r['h_mean'] for row, r in runs.items()}
    no_forgetting = [runs[row]['acc_ft'] for row in ('BadTeacher (R)', 'SalUn (R)', 'SCRUB (R)', 'Finetune (R)')]
    claims = {
        "the original's knowledge": f"(Acc_ft {delete['original.acc_ft']:.2f}) and {delete['original.acc_f']:.2f} % of "
                                    f"its augmented training images; at the 1 % FAR operating point it verifies none "
                                    f"of them (TAR_f {delete['original.tar_f']:.2f})",
        'DELETE': f"Acc_ft {delete['acc_ft']:.2f}, Acc_rt {delete['acc_rt']:.2f} against the original's "
                  f"{delete['original.acc_rt']:.2f} and the oracle's {delete['retrain.acc_rt']:.2f}. Its H-Mean, "
                  f"{delete['h_mean']:.2f}, is the highest of the method rows (the oracle's is "
                  f"{delete['retrain.h_mean']:.2f})",
        'the remain-data rows that do not forget': f'keep Acc_ft at {_range(no_forgetting, digits=2)}',
        'the collapses': f"collapse (Acc_rt {runs['InfluenceUnlearn (R)']['acc_rt']:.2f} and "
                         f"{runs['FisherForgetting (R)']['acc_rt']:.2f})",
    }
    for what, expected in claims.items():
        assert expected in section, f'{what}: the CSV gives "{expected}", which the ORL section does not say'
    assert max(methods, key=methods.get) == 'DELETE' and len(runs) == 16, 'DELETE tops the H-Mean of every method'
    assert all(runs[row]['h_mean'] < 0 for row in ('Finetune (R)', 'BadTeacher (R)'))
    assert {runs[row]['acc_ft'] for row in ('Finetune (R)', 'BadTeacher (R)')} == {100}
    assert delete['original.acc_ft'] == pytest.approx(200 / 3), 'two of the three test faces'


@functools.lru_cache(maxsize=None)
def synthetic_face_cells() -> dict:
    """``{(original seed, setting): run}`` of the synthetic face benchmark; the settings: the default recipe
    (``'frozen'`` batch-norm statistics), the official ``'updated'`` ones, and ``'120'`` images per identity."""
    cells = {}
    for r in done([SYNTHETIC_FACE_CSV]):
        setting = '120' if r['task.dataset.images_per_identity'] == 120 else (
            'frozen' if r['schedule.disable_bn'] == 'True' else 'updated')
        cells[r['train_schedule.seed'], setting] = r
    return cells


def synthetic_face_table() -> str:
    """docs/results.md's table of the synthetic face default over its six originals, rendered from the CSV."""
    cells = synthetic_face_cells()
    seeds = list(dict.fromkeys(seed for seed, _ in cells))
    titles = ['original seed', 'Original Acc_rt ↑', 'Retrain Acc_rt ↑', 'DELETE Acc_ft ↓', 'DELETE Acc_rt ↑',
              'DELETE TAR_f ↓', 'DELETE TAR_r ↑', 'BN updated: Acc_ft ↓', 'BN updated: Acc_rt ↑',
              '120 images: Original Acc_rt ↑', '120 images: DELETE Acc_ft ↓', '120 images: DELETE Acc_rt ↑']
    lines = ['| ' + ' | '.join(titles) + ' |', '|' + '---|' * len(titles)]
    for seed in seeds:
        frozen, updated, big = cells[seed, 'frozen'], cells[seed, 'updated'], cells.get((seed, '120'))
        values = [frozen['original.acc_rt'], frozen['retrain.acc_rt'], frozen['acc_ft'], frozen['acc_rt'],
                  frozen['tar_f'], frozen['tar_r'], updated['acc_ft'], updated['acc_rt'],
                  *((big['original.acc_rt'], big['acc_ft'], big['acc_rt']) if big else (None,) * 3)]
        lines.append(f'| {seed} | ' + ' | '.join('–' if v is None else f'{v:.2f}' for v in values) + ' |')
    return '\n'.join(lines)


def synthetic_face_spread(setting: str) -> dict:
    """min / max / mean of DELETE's Acc_rt (and the rest of a row) over the originals run with ``setting``."""
    runs = [r for (_, s), r in synthetic_face_cells().items() if s == setting]
    acc_rt = [r['acc_rt'] for r in runs]
    return dict(n=len(runs), min=min(acc_rt), max=max(acc_rt), mean=statistics.fmean(acc_rt),
                max_acc_ft=max(r['acc_ft'] for r in runs), oracle=[r['retrain.acc_rt'] for r in runs])


def test_the_synthetic_face_table_is_its_csv():
    assert synthetic_face_table() in TEXT, synthetic_face_table()


def test_the_synthetic_face_claims_match_the_csv():
    """The README's and docs/results.md's sentences on the spread over the originals, from the committed CSV."""
    frozen, updated, big = (synthetic_face_spread(s) for s in ('frozen', 'updated', '120'))
    runs = done([SYNTHETIC_FACE_CSV])
    originals = [r['original.acc_rt'] for (_, s), r in synthetic_face_cells().items() if s == 'frozen']
    spread = {name: f"{s['min']:.2f}-{s['max']:.2f}"
              for name, s in (('frozen', frozen), ('updated', updated), ('120', big))}
    readme = prose(README_TEXT[README_TEXT.index('## Face recognition'):].split('\n## ')[0])
    readme_claims = {
        'the default recipe': f"Over {frozen['n']} originals DELETE's worst Acc_ft is {frozen['max_acc_ft']:.2f} and "
                              f"it keeps {spread['frozen']} % of the other identities' test faces (mean "
                              f"{frozen['mean']:.2f}), against {_range(frozen['oracle'], digits=2)} % for the oracle",
        'the official batch norm': f"{spread['updated']} % (mean {updated['mean']:.2f}) with the official code's "
                                   'batch norm',
        '120 images': f"{spread['120']} % (mean {big['mean']:.2f}, {big['n']} originals) with 120 images per identity",
    }
    for what, expected in readme_claims.items():
        assert expected in readme, f'{what}: the CSV gives "{expected}", which the README does not say'
    section = section_prose(TEXT, '## The synthetic face default over six originals')
    at_100 = sum(r['acc_rt'] == 100 for (_, s), r in synthetic_face_cells().items() if s == '120')
    doc_claims = {
        'no run forgets less': f"Acc_ft is {max(r['acc_ft'] for r in runs):.2f} in all {len(runs)} runs",
        'the default recipe': f"from the originals' {_range(originals, digits=2)} to {spread['frozen']} (mean "
                              f"{frozen['mean']:.2f}) depending only on the original's seed; the oracles stay at "
                              f"{_range(frozen['oracle'], digits=2)}",
        'the official batch norm': f"gives {spread['updated']} (mean {updated['mean']:.2f})",
        '120 images': f"give {spread['120']} (mean {big['mean']:.2f}): 100.00 on {at_100} of the {big['n']} originals",
    }
    for what, expected in doc_claims.items():
        assert expected in section, f'{what}: the CSV gives "{expected}", which docs/results.md does not say'
    assert big['min'] == min(r['acc_rt'] for r in runs), 'the 120-image run is the lowest of the table'
    assert len({r['acc_ft'] for r in runs}) == 1, 'Acc_ft is the same in all runs'


# --- single-run tables quoted in the README: one committed CSV each (one row per model), rerun by other tests ---
README_TEXT = README.read_text()
SINGLE_RUNS = {  # CSV -> the README section quoting it and the evaluator whose report columns it shows
    'quickstart_digits.csv': ('## Quick start', 'tasks.classification.evaluator.ClassificationEvaluator'),
}


def single_run_rows(name: str) -> dict:
    """``{model: {column: value or None}}`` of a single-run CSV."""
    import csv
    with open(CSV_DIR / name) as fh:
        return {row.pop('model'): {k: float(v) if v else None for k, v in row.items()} for row in csv.DictReader(fh)}


@pytest.mark.parametrize('name', SINGLE_RUNS)
def test_the_readme_single_run_tables_are_their_csvs(name):
    import importlib

    from unlearn.reports import markdown_table
    heading, evaluator = SINGLE_RUNS[name]
    module, _, cls = evaluator.rpartition('.')
    table = markdown_table(single_run_rows(name), getattr(importlib.import_module(module), cls).columns)
    section = README_TEXT[README_TEXT.index(heading):]
    assert table in section.split('\n## ')[0], table


def test_the_quick_start_mia_sentence_is_its_csv():
    shadow = ' / '.join(f"{row['mia_shadow_accuracy']:.1f}" for row in single_run_rows('quickstart_digits.csv').values())
    assert f'for all three models ({shadow} %)' in ' '.join(README_TEXT.split())


def assert_says(text: str, claims: dict, where: str) -> None:
    """Each of ``claims`` (what -> the sentence the CSV gives) is said in ``text``."""
    for what, expected in claims.items():
        assert expected in text, f'{what}: the CSV gives "{expected}", which {where} does not say'


def test_the_digits_backdoor_claims_match_the_csv():
    """The backdoor section's prose: the recovery per size, DELETE's ASR / DER / clean cost, DELETE (R), the
    other rows and the margins at 3x3 beside the paper's."""
    section = section_prose(TEXT, '## Backdoor defense on the digits default')
    runs = done([DIGITS_BACKDOOR_CSV])
    sizes = (1, 2, 3)
    mean = lambda row, size, metric: statistics.fmean(  # noqa: E731
        r[metric] for r in runs if r['row'] == row and r['task.attack.size'] == size)
    first = {size: next(r for r in runs if r['task.attack.size'] == size) for size in sizes}
    per_size = lambda row, metric, sep=' / ', at=sizes: sep.join(  # noqa: E731
        f'{mean(row, s, metric):.2f}' for s in at)
    rows = list(dict.fromkeys(r['row'] for r in runs))
    best_der = {s: max(rows, key=lambda row: mean(row, s, 'der')) for s in sizes}
    others = [row for row in rows if row != 'DELETE']
    next_der = max(others, key=lambda row: mean(row, 3, 'der'))
    best_clean = max(others, key=lambda row: mean(row, 3, 'clean_acc'))
    wrecked = [mean(row, s, 'clean_acc') for row in ('NegativeGradient', 'RandomLabel', 'SalUn') for s in sizes]
    claims = {
        'the recovery time': 'the recovery (' + _range([r['request_s'] for r in runs], digits=1, unit=' s)'),
        'the anomaly indices': f"(anomaly index {first[1]['recovery.anomaly_index']:.2f}, "
                               f"{first[2]['recovery.anomaly_index']:.2f}) but not at 3x3 "
                               f"({first[3]['recovery.anomaly_index']:.2f}",
        'the mask IoUs': 'IoU ' + ', '.join(f"{first[s]['recovery.mask_iou']:.2f}" for s in sizes),
        "the recovered triggers' ASR": 'ASR on the original: ' + ', '.join(
            f"{first[s]['original.recovered_asr']:.2f}" for s in sizes),
        "DELETE's ASR": f"Its ASR is {per_size('DELETE', 'asr')} (Retrain " + ' / '.join(
            f"{first[s]['retrain.asr']:.2f}" for s in sizes),
        "DELETE's DER": f"at 2x2 and 3x3 ({per_size('DELETE', 'der', ', ', (2, 3))}); at 1x1 NegativeGradient "
                        f"(bounded) is higher ({mean('NegativeGradient (bounded)', 1, 'der'):.2f} against "
                        f"{mean('DELETE', 1, 'der'):.2f})",
        "DELETE's clean accuracy": f"drops to {per_size('DELETE', 'clean_acc')}",
        "DELETE's target class": f"({per_size('DELETE', 'clean_acc_target')} of the clean 'one's",
        'DELETE (R)': f"target class ({mean('DELETE (R)', 1, 'clean_acc_target'):.2f} at every size)",
        "DELETE (R)'s recovered trigger": f"(its ASR {per_size('DELETE (R)', 'recovered_asr')})",
        "DELETE (R)'s true trigger": f"(ASR {per_size('DELETE (R)', 'asr')})",
        'NCUnlearn': f"(ASR {mean('NCUnlearn (R)', 1, 'asr'):.2f}) and about half of the larger ones "
                     f"({per_size('NCUnlearn (R)', 'asr', ', ', (2, 3))}, seed std " + ', '.join(
                         f"{statistics.stdev(r['asr'] for r in runs if r['row'] == 'NCUnlearn (R)' and r['task.attack.size'] == s):.2f}"  # noqa: E501
                         for s in (2, 3)),
        'Finetune (R)': f"lowers the 1x1 ASR to {mean('Finetune (R)', 1, 'asr'):.2f} and leaves the larger ones "
                        f"({per_size('Finetune (R)', 'asr', ', ', (2, 3))})",
        'the wrecked models': f'(clean accuracy {_range(wrecked, digits=2)})',
        'the bounded ascent': f"({_range([mean('NegativeGradient (bounded)', s, 'clean_acc') for s in sizes], 2)}) "
                              f"and brings the ASR to {per_size('NegativeGradient (bounded)', 'asr')}",
        'the DER margin at 3x3': f"DELETE's DER is {mean('DELETE', 3, 'der') - mean(next_der, 3, 'der'):.2f} points "
                                 f'above the next row ({next_der})',
        'the clean-accuracy gap at 3x3': f"{mean(best_clean, 3, 'clean_acc') - mean('DELETE', 3, 'clean_acc'):.2f} "
                                         f"points below the best other row ({best_clean}, "
                                         f"{mean(best_clean, 3, 'clean_acc'):.2f})",
    }
    assert_says(section, claims, 'the backdoor section')
    readme = section_prose(README.read_text(), '## Backdoor defense')
    readme_claims = {
        "DELETE's ASR": f"(ASR {per_size('DELETE', 'asr')})",
        "DELETE's target class at 2x2": f"at 2x2 it keeps {mean('DELETE', 2, 'clean_acc_target'):.2f} % of the clean",
        'DELETE (R) at 2x2': f"them ({mean('DELETE (R)', 2, 'clean_acc_target'):.2f}) but leaves most of the 2x2 "
                             f"backdoor (ASR {mean('DELETE (R)', 2, 'asr'):.2f}): what it erases is the recovered "
                             f"trigger (its ASR {mean('DELETE (R)', 2, 'recovered_asr'):.2f})",
        'the mask at 2x2': f"(IoU {first[2]['recovery.mask_iou']:.2f} at 2x2)",
    }
    assert_says(readme, readme_claims, 'the README')
    assert all(first[s]['recovery.target'] == 1 for s in sizes), "t̂ is 'one' at every size"
    assert first[1]['recovery.anomaly_index'] > 2 and first[2]['recovery.anomaly_index'] > 2
    assert best_der[2] == best_der[3] == 'DELETE' and best_der[1] == 'NegativeGradient (bounded)'
    assert len({round(mean('DELETE (R)', s, 'clean_acc_target'), 2) for s in sizes}) == 1


def test_the_cifar10_backdoor_claims_match_the_csvs():
    """The CIFAR-10 section's prose: the original's ASR, the recovery, DELETE with either trigger, the rows with a
    higher DER, DELETE (R), and the margins beside the paper's."""
    section = section_prose(TEXT, '## Backdoor defense on real CIFAR-10')
    runs = {r['row']: r for r in done([CIFAR_BACKDOOR_CSV])}
    known = {r['row']: r for r in done([CIFAR_BACKDOOR_KNOWN_CSV])}
    delete, first = runs['DELETE'], known['DELETE']
    higher = sorted((row for row in runs if runs[row]['der'] > delete['der']), key=lambda row: -runs[row]['der'])
    best_clean = max((row for row in runs if row != 'DELETE'), key=lambda row: runs[row]['clean_acc'])
    claims = {
        'the original': f"sends {delete['original.asr']:.2f} % of the triggered test images to 'airplane' (the bar: "
                        f"95 %); the oracle {delete['retrain.asr']:.2f} %",
        'the recovery': f"flagged (anomaly index {delete['recovery.anomaly_index']:.2f}); its mask has an L1 norm of "
                        f"{delete['recovery.norms.airplane']:.2f}",
        'its IoU and ASR': f"IoU with the true mask is {delete['recovery.mask_iou']:.2f}, yet it fires the backdoor "
                           f"on {delete['original.recovered_asr']:.2f} %",
        'the scan': f"{delete['request_s']:.1f} s",
        "DELETE's ASR": f"DELETE lowers the ASR to {delete['asr']:.2f}",
        "DELETE's recovered ASR": f"(its ASR {delete['recovered_asr']:.2f})",
        "DELETE's cost": f"at {delete['original.clean_acc'] - delete['clean_acc']:.2f} points of clean accuracy "
                         f"({delete['original.clean_acc']:.2f} -> {delete['clean_acc']:.2f}), most of it on 'airplane' "
                         f"({delete['original.clean_acc_target']:.2f} -> {delete['clean_acc_target']:.2f})",
        'the rows above it': f"Its DER, {delete['der']:.2f}, is below that of three forget-only rows: NegativeGradient "
                             f"({runs['NegativeGradient']['der']:.2f}, at the price of 'airplane' itself: "
                             f"{runs['NegativeGradient']['clean_acc_target']:.2f}), SalUn ({runs['SalUn']['der']:.2f}) "
                             f"and RandomLabel ({runs['RandomLabel']['der']:.2f})",
        'the true trigger': f"({first['asr']:.2f} against {first['retrain.asr']:.2f}) at "
                            f"{first['original.clean_acc'] - first['clean_acc']:.2f} points of clean accuracy "
                            f"({first['original.clean_acc']:.2f} -> {first['clean_acc']:.2f}; the target class "
                            f"{first['original.clean_acc_target']:.2f} -> {first['clean_acc_target']:.2f})",
        'the bar missed by': f"missed on the clean accuracy by "
                             f"{first['original.clean_acc'] - first['clean_acc'] - 1:.2f} points",
        'DELETE (R)': f"ASR {runs['DELETE (R)']['asr']:.2f} ({known['DELETE (R)']['asr']:.2f} with the true trigger)",
        'the paper': f"DELETE's DER is {runs[higher[0]]['der'] - delete['der']:.2f} points below the best row "
                     f"({higher[0]}) and its clean accuracy {runs[best_clean]['clean_acc'] - delete['clean_acc']:.2f} "
                     f"points below the best other row ({best_clean}, {runs[best_clean]['clean_acc']:.2f})",
    }
    assert_says(section, claims, 'the CIFAR-10 section')
    readme = section_prose(README.read_text(), '## Backdoor defense')
    quoted = (f"DELETE lowers the ASR from {delete['original.asr']:.2f} to {delete['asr']:.2f} (the oracle: "
              f"{delete['retrain.asr']:.2f}) at {delete['original.clean_acc'] - delete['clean_acc']:.2f} points of "
              f"clean accuracy; given the attack's own trigger it reaches {first['asr']:.2f} at "
              f"{first['original.clean_acc'] - first['clean_acc']:.2f} points")
    assert quoted in readme, f'the README should say "{quoted}"'
    assert higher == ['NegativeGradient', 'SalUn', 'RandomLabel']
    assert delete['recovery.target'] == 0 and delete['original.asr'] < 95
    assert first['asr'] <= asr_bar(first) < delete['asr']


def asr_bar(run: dict) -> float:
    """The issue's ASR bar for a run: max(2, the oracle's ASR + 1)."""
    return max(2.0, run['retrain.asr'] + 1)


def other_class_norms(run: dict) -> list:
    """Neural Cleanse's mask norms of the classes other than the target 'airplane'."""
    names = ('automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
    return [run[f'recovery.norms.{name}'] for name in names]


def slash_joined(values) -> str:
    """Values as the prose lists them: '94.09 / 94.07 / 93.27'."""
    return ' / '.join(f'{v:.2f}' for v in values)


def cifar_backdoor_bar() -> dict:
    """``{training seed: DELETE's run}`` on the CIFAR-10 3x3 originals and, per seed, whether it meets the issue's
    bar: original ASR >= 95, t̂ right, DELETE's ASR <= max(2, oracle's + 1), clean accuracy within 1 point."""
    runs = {r['train_schedule.seed']: r for r in done([CIFAR_BACKDOOR_SEEDS_CSV], row='DELETE')}
    return {seed: dict(run=r, asr_bar=asr_bar(r), drop=r['original.clean_acc'] - r['clean_acc'])
            for seed, r in runs.items()}


def cifar_backdoor_bar_table() -> str:
    """docs/results.md's table of the issue's bar over the three originals, rendered from the CSV."""
    titles = ['original (training seed)', 'Original ASR', 'Original clean acc', "t̂ (anomaly index)", 'Retrain ASR',
              'DELETE ASR', 'ASR bar', 'DELETE clean acc', 'clean acc drop', 'bar met']
    lines = ['| ' + ' | '.join(titles) + ' |', '|' + '---|' * len(titles)]
    for seed, bar in cifar_backdoor_bar().items():
        r = bar['run']
        met = (r['original.asr'] >= 95 and r['recovery.target'] == 0 and r['asr'] <= bar['asr_bar']
               and bar['drop'] <= 1)
        target = ('airplane' if r['recovery.target'] == 0 else f"class {r['recovery.target']}")
        lines.append(f"| {seed} | {r['original.asr']:.2f} | {r['original.clean_acc']:.2f} | {target} "
                     f"({r['recovery.anomaly_index']:.2f}) | {r['retrain.asr']:.2f} | {r['asr']:.2f} | "
                     f"<= {bar['asr_bar']:.2f} | {r['clean_acc']:.2f} | {bar['drop']:.2f} | {'yes' if met else 'no'} |")
    return '\n'.join(lines)


def cifar_backdoor_scans_table() -> str:
    """docs/results.md's table of Neural Cleanse's scans (tools/analysis/recover_trigger.py --out), from the CSV."""
    titles = ['model', 'training seed', 't̂', 'flagged', 'anomaly index', "t̂'s mask L1 norm", 'mask IoU',
              'IoU with the mirror image', 'scan (s)']
    lines = ['| ' + ' | '.join(titles) + ' |', '|' + '---|' * len(titles)]
    for r in read_csv_rows(CSV_DIR / CIFAR_BACKDOOR_SCANS_CSV):
        seed = r['cfg_options'].split('train_schedule.seed=')[-1] if r['cfg_options'] else '2022'
        lines.append(f"| {r['model']} | {seed} | {r['target_name']} | {'yes' if r['flagged'] == 'True' else 'no'} | "
                     f"{float(r['anomaly_index']):.2f} | {float(r['norm.' + r['target_name']]):.2f} | "
                     f"{float(r['mask_iou']):.2f} | {float(r['mask_iou_mirrored']):.2f} | "
                     f"{float(r['recovery_s']):.0f} |")
    return '\n'.join(lines)


def read_csv_rows(path) -> list:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_the_cifar10_backdoor_bar_and_scan_tables_are_their_csvs():
    assert cifar_backdoor_bar_table() in TEXT, cifar_backdoor_bar_table()
    assert cifar_backdoor_scans_table() in TEXT, cifar_backdoor_scans_table()


def test_the_cifar10_scan_claims_match_the_csv():
    section = section_prose(TEXT, '### Neural Cleanse on each original and on the clean oracle')
    rows = read_csv_rows(CSV_DIR / CIFAR_BACKDOOR_SCANS_CSV)
    originals = [r for r in rows if r['model'] == 'original']
    [control] = [r for r in rows if r['model'] == 'retrain']
    value = lambda r, key: float(r[key])  # noqa: E731
    norms = [value(r, 'norm.airplane') for r in originals]
    claims = {
        'the mirrored IoUs': 'and ' + ' / '.join(f"{value(r, 'mask_iou_mirrored'):.2f}" for r in originals)
                             + ' with the patch mirrored',
        'the scan times': f"({min(value(r, 'recovery_s') for r in originals):.0f} to "
                          f"{max(value(r, 'recovery_s') for r in originals):.0f} s)",
        'the control': f"t̂ '{control['target_name']}' (anomaly index {value(control, 'anomaly_index'):.2f})",
        'its norm': f"(L1 norm {value(control, 'norm.' + control['target_name']):.2f} against {min(norms):.2f} to "
                    f"{max(norms):.2f}",
    }
    assert_says(section, claims, 'the scans section')
    assert all(r['target_name'] == 'airplane' and r['flagged'] == 'True' for r in originals) and len(originals) == 3
    assert all(value(r, 'mask_iou') == 0 for r in originals) and control['flagged'] == 'True'


def test_the_cifar10_bar_claims_match_the_csv():
    """The three-original section's prose: the bar per original, DELETE's rank in DER, DELETE (R)."""
    section = section_prose(TEXT, "### CIFAR-10 3x3 over three originals: the issue's bar")
    bar = cifar_backdoor_bar()
    runs = done([CIFAR_BACKDOOR_SEEDS_CSV])
    cell = lambda seed, row, metric: next(  # noqa: E731
        r[metric] for r in runs if r['train_schedule.seed'] == seed and r['row'] == row)
    each = slash_joined
    new = [1, 2]
    above = {seed: sorted((r['row'] for r in runs if r['train_schedule.seed'] == seed
                           and r['der'] is not None and r['der'] > cell(seed, 'DELETE', 'der')
                           and r['row'] != 'DELETE'), key=lambda row: -cell(seed, row, 'der')) for seed in new}
    delete = {seed: bar[seed]['run'] for seed in bar}
    claims = {
        'the originals': 'ASR ' + each(r['original.asr'] for r in delete.values()) + ' with the 6-epoch CPU recipe',
        "DELETE's ASR": f"DELETE's ASR is {each(r['asr'] for r in delete.values())} against bars of "
                        + each(b['asr_bar'] for b in bar.values()),
        'the drops': f"drops by {each(b['drop'] for b in bar.values())} points",
        'the new originals': f"falls from {delete[1]['original.asr']:.2f} to {delete[1]['asr']:.2f} and from "
                             f"{delete[2]['original.asr']:.2f} to {delete[2]['asr']:.2f}, and the recovered trigger's "
                             f"own ASR to {delete[1]['recovered_asr']:.2f} and {delete[2]['recovered_asr']:.2f}",
        'seed 1': f"on seed 1 it is {cell(1, 'DELETE', 'der'):.2f}, below "
                  + ', '.join(f"{row} ({cell(1, row, 'der'):.2f})" for row in above[1][:-1])
                  + f" and {above[1][-1]} ({cell(1, above[1][-1], 'der'):.2f})",
        'seed 2': f"on seed 2 it is {cell(2, 'DELETE', 'der'):.2f}, second to {above[2][0]} "
                  f"({cell(2, above[2][0], 'der'):.2f}), which erases 'airplane' itself (target clean accuracy "
                  f"{cell(2, above[2][0], 'clean_acc_target'):.2f})",
        'DELETE (R)': f"(ASR {cell(1, 'DELETE (R)', 'asr'):.2f}, {cell(2, 'DELETE (R)', 'asr'):.2f})",
        'the times': f"trained in {cell(1, 'DELETE', 'original.train_s'):.1f} and "
                     f"{cell(2, 'DELETE', 'original.train_s'):.1f} s, their oracles in "
                     f"{cell(1, 'DELETE', 'retrain.train_s'):.1f} and {cell(2, 'DELETE', 'retrain.train_s'):.1f} s",
    }
    assert_says(section, claims, "the bar's section")
    readme = section_prose(README.read_text(), '## Backdoor defense')
    leaves = f"DELETE leaves {each(r['asr'] for r in delete.values())} % ASR"
    assert_says(readme, {"DELETE's ASR": leaves}, 'the README')
    assert list(bar) == [2022, 1, 2] and len(above[2]) == 1
    assert not any(b['run']['original.asr'] >= 95 or b['run']['asr'] <= b['asr_bar'] for b in bar.values())


PRECISION_CSV = 'cifar10_resnet20_cpu_precision.csv'
PRECISION_HEADING = '## bf16 against fp32: DELETE on real CIFAR-10, CPU-sized (issue #17)'


def precision_runs() -> dict:
    """``{precision: {seed: DELETE's run}}`` of the fp32-vs-bf16 benchmark."""
    runs = {}
    for r in done([PRECISION_CSV]):
        runs.setdefault(r['precision'], {})[r['seed']] = r
    return runs


def precision_table() -> str:
    """docs/results.md's per-seed table of DELETE in fp32 and in bf16, rendered from the CSV."""
    titles = ['precision', 'seed', "Original's Acc_ft (same precision)", 'Acc_f', 'Acc_r', 'Acc_ft', 'Acc_rt',
              'H-Mean', 'unlearning CPU time (s)']
    lines = ['| ' + ' | '.join(titles) + ' |', '|' + '---|' * len(titles)]
    for precision, by_seed in precision_runs().items():
        for seed, r in sorted(by_seed.items()):
            lines.append(f"| {precision} | {seed} | {r['original.acc_ft']:.2f} | {r['acc_f']:.2f} | {r['acc_r']:.2f} | "
                         f"{r['acc_ft']:.2f} | {r['acc_rt']:.2f} | {r['h_mean']:.2f} | {r['cpu_s']:.0f} |")
    return '\n'.join(lines)


def test_the_precision_table_is_its_csv():
    assert precision_table() in TEXT, precision_table()


def test_the_precision_claims_match_the_csv():
    """Which of bf16's Acc_ft, Acc_rt and H-Mean lie within the fp32 seeds' range, as the section says."""
    runs = precision_runs()
    assert sorted(runs) == ['bf16', 'fp32'] and all(len(by_seed) == 3 for by_seed in runs.values())
    section = section_prose(TEXT, PRECISION_HEADING)
    titles = dict(acc_ft='Acc_ft', acc_rt='Acc_rt', h_mean='H-Mean')
    claims = {}
    for metric, title in titles.items():
        fp32 = [r[metric] for r in runs['fp32'].values()]
        bf16 = [r[metric] for _, r in sorted(runs['bf16'].items())]
        low, high = min(fp32), max(fp32)
        inside = sum(low <= v <= high for v in bf16)
        claims[title] = (f"{title}: bf16 {' / '.join(f'{v:.2f}' for v in bf16)}, fp32 range {low:.2f}-{high:.2f} "
                         f"({inside} of 3 within)")
    fp32_original = {r['original.acc_ft'] for r in runs['fp32'].values()}
    bf16_original = {r['original.acc_ft'] for r in runs['bf16'].values()}
    assert len(fp32_original) == len(bf16_original) == 1, 'one original, evaluated once in each precision'
    fp32_original, bf16_original = fp32_original.pop(), bf16_original.pop()
    again = {seed: h_mean(r['acc_rt'], r['acc_ft'], fp32_original) for seed, r in sorted(runs['bf16'].items())}
    gaps = [abs(h - runs['fp32'][seed]['h_mean']) for seed, h in again.items()]
    higher = [r['h_mean'] - runs['fp32'][seed]['h_mean'] for seed, r in sorted(runs['bf16'].items())]
    claims.update({
        'the gap': f"bf16 is {min(higher):.2f}-{max(higher):.2f} higher at each seed",
        "the original's Acc_ft": f"({bf16_original:.2f} against {fp32_original:.2f}: "
                                 f"{round(abs(bf16_original - fp32_original) * 10):.0f} of the 1,000 deer test images",
        'recomputed': f"recomputed with the fp32 original's {fp32_original:.2f}, bf16's H-Mean is "
                      f"{' / '.join(f'{h:.2f}' for h in again.values())}, within {max(gaps) + 0.005:.2f} of fp32's",
    })
    assert all(h > 0 for h in higher) and max(gaps) < 0.05
    assert_says(section, claims, 'the precision section')


SPEED_DIR = CSV_DIR / 'speed'


def test_the_readme_speed_numbers_are_the_benchmarks_outputs():
    """The Speed section quotes the committed outputs of benchmarks/speed_delete.py, vs_official.py and
    speed_seg.py, figure for figure."""
    [delete_table, race18_table, race20_table] = doc_tables(README_TEXT)['Speed']
    lines = (SPEED_DIR / 'speed_delete.txt').read_text().splitlines()
    measured = [[c.strip() for c in line.split('(')[0].split('|')] for line in lines
                if line.split('|')[0].strip() in ('fp32', 'bf16', 'bf16+cl')]
    assert delete_table[1:] == measured
    races = {}
    for name, table in (('vs_official_resnet18', race18_table), ('vs_official', race20_table)):
        race = (SPEED_DIR / f'{name}.txt').read_text()
        assert all('| ' + ' | '.join(row) + ' |' in race for row in table[1:]), name
        ratio = re.search(r'end to end over 20 epochs: ([\d.]+)x', race).group(1)
        official, ours = ([float(c) for c in row[4:7]] for row in table[1:])
        races[name] = ratio, abs(official[2] - ours[2]), official[0], ours[0]
    seg = (SPEED_DIR / 'speed_seg.txt').read_text()
    mmseg_s, delete_s = (re.search(rf'{step} step\s+:\s+([\d.]+) s', seg).group(1)
                         for step in ('mmseg training', 'DELETE'))
    seg_ratio = re.search(r'ratio DELETE / mmseg:\s+([\d.]+)', seg).group(1)
    teacher_s, share, floor_s, floor = re.search(
        r'teacher forward\s+:\s+([\d.]+) s\s+\((\d+)% .*= ([\d.]+) s, ratio ([\d.]+)\)', seg).groups()
    assert float(delete_s) <= float(floor_s), 'the README says the DELETE step costs no more than that'
    extrapolated = re.findall(r'\(([\d.]+)x a DELETE epoch\)|\((\d+)x the DELETE run\)', '\n'.join(lines))
    speed_ups = [row[4] for row in delete_table[2:]]
    before_mia = re.search(r'\| tools/unlearn.py \(bf16\) \| [\d.]+ \| ([\d.]+) \|',
                           (SPEED_DIR / 'vs_official_before_mia.txt').read_text()).group(1)
    resnet18, resnet20 = races['vs_official_resnet18'], races['vs_official']
    section = section_prose(README_TEXT, '### Speed')
    assert_says(section, {
        'the bf16 speed-ups': f"bf16 makes the framework's epoch {speed_ups[0]} faster, bf16 with channels-last "
                              f"{speed_ups[1]}",
        'the ResNet-18 race': f"On the paper's ResNet-18 the framework is {resnet18[0]}x faster",
        'the ResNet-20 race': f'on the ResNet-20, {resnet20[0]}x',
        'the H-Means': f"H-Mean differ by {resnet20[1]:.2f} on the ResNet-20; on the ResNet-18 subset by "
                       f"{resnet18[1]:.2f}, which is one deer test image (Acc_ft {resnet18[3]:.0f} against "
                       f"{resnet18[2]:.0f} of 100)",
        'the segmentation step': f'a DELETE step costs {delete_s} s against mmseg\'s own training step\'s {mmseg_s} s',
        'its ratio': f'a ratio of {seg_ratio}',
        'the teacher': f"The teacher's forward alone costs {teacher_s} s ({share}% of mmseg's step), so mmseg's step "
                       f"plus the teacher's forward is {floor_s} s (ratio {floor})",
        'the MIA change': f"final evaluation from {before_mia} s to {race20_table[2][2]} s",
        'the retrain epoch': f'one retrain epoch costs {extrapolated[0][0]}x a DELETE epoch',
        'the retrain run': f'epochs) {extrapolated[1][1]}x a whole DELETE run',
    }, "the README's Speed section")
    share = re.search(r'\d+% of such an epoch', '\n'.join(lines)).group(0)
    assert f'`python benchmarks/speed_delete.py`, {share}' in prose(README_TEXT), 'Faithfulness quotes it'


def test_the_cifar10_1x1_claims_match_the_csv():
    """The 1x1 section's prose: the attack's ASR, Neural Cleanse's flag, norms and IoUs, what DELETE costs."""
    section = section_prose(TEXT, "### CIFAR-10 1x1, Neural Cleanse's trigger")
    runs = [r for r in done([CIFAR_BACKDOOR_SIZES_CSV]) if r['task.attack.size'] == 1]
    delete = next(r for r in runs if r['row'] == 'DELETE')
    others = other_class_norms(delete)
    ders = [r['der'] for r in runs]
    claims = {
        'the ASRs': f"the original's ASR is {delete['original.asr']:.2f} (the oracle's {delete['retrain.asr']:.2f})",
        'the flag': f"(anomaly index {delete['recovery.anomaly_index']:.2f}; its mask's L1 norm "
                    f"{delete['recovery.norms.airplane']:.2f} against {min(others):.2f}-{max(others):.2f}",
        'the IoUs': f"(IoU {delete['recovery.mask_iou']:.2f}, with its mirror image "
                    f"{delete['recovery.mask_iou_mirrored']:.2f})",
        'the patch': f"sends {delete['original.recovered_asr']:.2f} % of the non-target test images",
        'DELETE': f"(its ASR {delete['recovered_asr']:.2f}) at a cost of "
                  f"{delete['original.clean_acc'] - delete['clean_acc']:.2f} points of clean accuracy",
        'the target': f"(target clean accuracy {delete['original.clean_acc_target']:.2f} -> "
                      f"{delete['clean_acc_target']:.2f})",
        'the oracles': f"The oracle here (SHA-256 {delete['retrain.sha256'][:8]}...) is not the file of the 3x3 "
                       f"tables ({done([CIFAR_BACKDOOR_CSV])[0]['retrain.sha256'][:8]}...)",
    }
    assert delete['recovery.target'] == 0 and delete['recovery.anomaly_index'] > 2
    assert all(abs(d - 50) < 5 for d in ders), 'a DER near 50 for every row'
    assert_says(section, claims, 'the 1x1 section')
    readme = section_prose(README.read_text(), '## Backdoor defense')
    assert_says(readme, {"the 1x1 original's ASR": f"(ASR {delete['original.asr']:.2f})"}, 'the README')


def test_the_cifar10_2x2_claims_match_the_csv():
    """The 2x2 section's prose: no backdoor to remove, Neural Cleanse's unflagged pick, what DELETE costs, the
    shared oracle."""
    section = section_prose(TEXT, "### CIFAR-10 2x2, Neural Cleanse's trigger")
    runs = {r['row']: r for r in done([CIFAR_BACKDOOR_SIZES_CSV]) if r['task.attack.size'] == 2}
    delete, delete_r = runs['DELETE'], runs['DELETE (R)']
    others = other_class_norms(delete)
    ders = [r['der'] for r in runs.values()]
    one_by_one = next(r for r in done([CIFAR_BACKDOOR_SIZES_CSV]) if r['task.attack.size'] == 1)
    assert delete['recovery.anomaly_index'] <= 2 and delete['recovery.norms.airplane'] < min(others)
    assert delete['retrain.sha256'] == one_by_one['retrain.sha256']
    assert_says(section, {
        'the ASRs': f"the original's ASR is {delete['original.asr']:.2f} (the oracle's {delete['retrain.asr']:.2f})",
        'the DERs': f"every row's DER stays between {min(ders):.2f} and {max(ders):.2f}",
        'the norms': f"(L1 norm {delete['recovery.norms.airplane']:.2f} against {min(others):.2f}-{max(others):.2f})",
        'the index': f"its anomaly index is {delete['recovery.anomaly_index']:.2f}, under the threshold of 2",
        'the IoUs': f"(IoU {delete['recovery.mask_iou']:.2f}, with its mirror image "
                    f"{delete['recovery.mask_iou_mirrored']:.2f})",
        'the patch': f"sends {delete['original.recovered_asr']:.2f} % of the non-target test images",
        'DELETE': f"(recovered-trigger ASR {delete['recovered_asr']:.2f}) at a cost of "
                  f"{delete['original.clean_acc'] - delete['clean_acc']:.2f} points of clean accuracy",
        'the target': f"(target clean accuracy {delete['original.clean_acc_target']:.2f} -> "
                      f"{delete['clean_acc_target']:.2f})",
        'DELETE (R)': f"DELETE (R) keeps {delete_r['clean_acc']:.2f} clean accuracy (target "
                      f"{delete_r['clean_acc_target']:.2f}) with a recovered-trigger ASR of "
                      f"{delete_r['recovered_asr']:.2f}",
        'the oracle': f"(SHA-256 {delete['retrain.sha256'][:8]}...)",
    }, 'the 2x2 section')
    readme = {"the 2x2 original's ASR": f"the attack does not take either (ASR {delete['original.asr']:.2f}) and no "
                                        'class is flagged'}
    assert_says(prose(README_TEXT), readme, 'the README')


def cifar_backdoor_size_runs(size: int, seed: int = 2022) -> dict:
    """``{row: run}`` of the CIFAR-10 trigger-size grid at ``size`` on the original of training ``seed``."""
    return {r['row']: r for r in done([CIFAR_BACKDOOR_SIZES_CSV])
            if r['task.attack.size'] == size and r['train_schedule.seed'] == seed}


def cifar_backdoor_known_trigger_runs() -> dict:
    """``{size: DELETE's run}`` given the attack's own trigger, on the originals of the trigger-size grid."""
    return {r['task.attack.size']: r for r in done([CIFAR_BACKDOOR_SIZES_KNOWN_CSV], row='DELETE')}


def der_margin(runs: dict) -> tuple:
    """DELETE's DER minus that of the best row that is not DELETE's (DELETE (R) is DELETE too), and that row."""
    rival = max((row for row in runs if not row.startswith('DELETE')), key=lambda row: runs[row]['der'])
    return runs['DELETE']['der'] - runs[rival]['der'], rival


def cifar_backdoor_sizes_table() -> str:
    """docs/results.md's table of every row's DER (and ASR) at each trigger size, rendered from the CSV."""
    sizes = (1, 2, 3, 4, 5)
    runs = {size: cifar_backdoor_size_runs(size) for size in sizes}
    lines = ['| method | ' + ' | '.join(f'{s}x{s} DER ↑ (ASR ↓)' for s in sizes) + ' |', '|' + '---|' * 6]
    first = runs[1]['DELETE']
    cells = lambda der, asr: ' | '.join(f'{der(s)} ({asr(s):.2f})' for s in sizes)  # noqa: E731
    lines.append('| Original | ' + cells(lambda s: '–', lambda s: runs[s]['DELETE']['original.asr']) + ' |')
    retrain_der = lambda s: f"{runs[s]['DELETE']['retrain.der']:.2f}"  # noqa: E731
    lines.append('| Retrain | ' + cells(retrain_der, lambda s: runs[s]['DELETE']['retrain.asr']) + ' |')
    for row in runs[1]:
        lines.append(f'| {row} | ' + cells(lambda s: f"{runs[s][row]['der']:.2f}", lambda s: runs[s][row]['asr'])
                     + ' |')
    known = cifar_backdoor_known_trigger_runs()
    lines.append('| DELETE + KnownTrigger | ' + cells(lambda s: f"{known[s]['der']:.2f}", lambda s: known[s]['asr'])
                 + ' |')
    assert all(known[s]['original.sha256'] == runs[s]['DELETE']['original.sha256'] for s in sizes)
    margins = ' | '.join('{:+.2f} ({})'.format(*der_margin(runs[s])) for s in sizes)
    lines.append(f"| DELETE's margin | {margins} |")
    assert first['retrain.sha256'] == runs[5]['DELETE']['retrain.sha256']
    return '\n'.join(lines)


@pytest.mark.parametrize('size', [4, 5])
def test_the_cifar10_4x4_and_5x5_claims_match_the_csv(size):
    """The 4x4 / 5x5 sections' prose: the attack, Neural Cleanse's flag and mask, DELETE against the issue's bar,
    the rows with a higher DER, the remain-data rows."""
    section = section_prose(TEXT, f"### CIFAR-10 {size}x{size}, Neural Cleanse's trigger")
    runs = cifar_backdoor_size_runs(size)
    delete = runs['DELETE']
    others = other_class_norms(delete)
    drop = lambda run: delete['original.clean_acc'] - run['clean_acc']  # noqa: E731
    margin, rival = der_margin(runs)
    higher = sorted((row for row in runs if runs[row]['der'] > delete['der']), key=lambda row: -runs[row]['der'])
    if margin > 0:
        rank = (f"Its DER, {delete['der']:.2f}, is the highest of the Neural Cleanse rows, {margin:.2f} above {rival} "
                f"({runs[rival]['der']:.2f}), which erases 'airplane' itself (target clean accuracy "
                f"{runs[rival]['clean_acc_target']:.2f})")
    else:
        rank = (f"Its DER, {delete['der']:.2f}, is {-margin:.2f} below {rival}'s ({runs[rival]['der']:.2f}), also "
                f"below {higher[1]}'s ({runs[higher[1]]['der']:.2f}), whose ASRs ({runs[rival]['asr']:.2f}, "
                f"{runs[higher[1]]['asr']:.2f}) reach the oracle's at a larger cost in clean accuracy "
                f"({drop(runs[rival]):.2f} and {drop(runs[higher[1]]):.2f} points)")
        assert len(higher) == 2 and max(runs[row]['asr'] for row in higher) <= delete['retrain.asr'] + 1
        assert min(drop(runs[row]) for row in higher) > drop(delete)
    assert_says(section, {
        'the attack': f"The attack takes at {size}x{size}**: the original's ASR is {delete['original.asr']:.2f} "
                      f"(clean accuracy {delete['original.clean_acc']:.2f}; the oracle's ASR "
                      f"{delete['retrain.asr']:.2f})",
        'the flag': f"(anomaly index {delete['recovery.anomaly_index']:.2f}; its mask's L1 norm "
                    f"{delete['recovery.norms.airplane']:.2f} against {min(others):.2f}-{max(others):.2f} for the "
                    f"other classes, the patch's {size * size})",
        'the mask': f"(IoU {delete['recovery.mask_iou']:.2f}, with its mirror image "
                    f"{delete['recovery.mask_iou_mirrored']:.2f}) that sends {delete['original.recovered_asr']:.2f} %",
        'DELETE': f"DELETE lowers the ASR from {delete['original.asr']:.2f} to {delete['asr']:.2f}** (the issue's "
                  f"bar: <= {asr_bar(delete):.2f}) at {drop(delete):.2f} points of clean accuracy "
                  f"(target clean accuracy {delete['original.clean_acc_target']:.2f} -> "
                  f"{delete['clean_acc_target']:.2f}); the recovered trigger's ASR falls to "
                  f"{delete['recovered_asr']:.2f}",
        'its rank': rank,
        'the remain-data rows': f"NCUnlearn (R) leaves ASR {runs['NCUnlearn (R)']['asr']:.2f} and DELETE (R) "
                                f"{runs['DELETE (R)']['asr']:.2f}",
    }, f'the {size}x{size} section')
    both = section_prose(TEXT, "### CIFAR-10 4x4, Neural Cleanse's trigger")  # its introduction speaks for both
    assert f"{delete['recovery.recovery_s']:.0f} s at {size}x{size}" in both, 'the scan time'
    assert delete['recovery.target'] == 0 and delete['recovery.anomaly_index'] > 2
    assert delete['original.asr'] >= 95 and delete['retrain.sha256'] == cifar_backdoor_size_runs(1)['DELETE'][
        'retrain.sha256']


def test_the_cifar10_trigger_size_table_and_claims_match_the_csv():
    """The 1x1..5x5 summary: the table, DELETE's margin per size and on the three 3x3 originals beside the
    paper's, the KnownTrigger upper bound, Neural Cleanse's flags and IoUs."""
    assert cifar_backdoor_sizes_table() in TEXT, cifar_backdoor_sizes_table()
    section = section_prose(TEXT, "### CIFAR-10, 1x1 to 5x5: every row's DER")
    sizes = (1, 2, 3, 4, 5)
    runs = {size: cifar_backdoor_size_runs(size) for size in sizes}
    margins = {size: der_margin(runs[size]) for size in sizes}
    seeds = {seed: der_margin(cifar_backdoor_size_runs(3, seed)) for seed in (2022, 1, 2)}
    best = [size for size in sizes if margins[size][0] > 0]
    known = {r['row']: r for r in done([CIFAR_BACKDOOR_KNOWN_CSV])}['DELETE']
    nc_best = max(r['der'] for r in runs[3].values())
    each = slash_joined
    delete = {size: runs[size]['DELETE'] for size in sizes}
    small = [r['der'] for size in (1, 2) for r in runs[size].values()]
    assert best == [4]
    assert [delete[s]['recovery.anomaly_index'] > 2 for s in sizes] == [True, False, True, True, True]
    assert all(delete[s]['recovery.mask_iou'] == 0 for s in sizes)
    with_true = cifar_backdoor_known_trigger_runs()
    bars = {s: asr_bar(delete[s]) for s in sizes}
    drops = {s: with_true[s]['original.clean_acc'] - with_true[s]['clean_acc'] for s in sizes}
    assert all(with_true[s]['asr'] > bars[s] and drops[s] > 1 for s in (4, 5)) and with_true[3]['asr'] <= bars[3]
    assert_says(section, {
        'the known trigger at 4x4 and 5x5': f"its ASR is {each(with_true[s]['asr'] for s in (4, 5))} against bars of "
                                            f"{each(bars[s] for s in (4, 5))} and its clean accuracy drops by "
                                            f"{each(drops[s] for s in (4, 5))} points (at 3x3: "
                                            f"{with_true[3]['asr']:.2f} against {bars[3]:.2f}, a drop of "
                                            f"{drops[3]:.2f})",
        'the known-trigger times': 'the other four, ' + _range(
            [with_true[s]['time_s'] for s in sizes if s != 3], unit=' s each on one core'),
        'the originals': f"(the original's ASR {each(delete[s]['original.asr'] for s in sizes)})",
        'the small sizes': f"at 1x1 and 2x2 every row's DER is between {min(small):.2f} and {max(small):.2f}",
        'the 4x4 lead': f"DELETE has the highest DER of the Neural Cleanse rows at 4x4 only** "
                        f"({margins[4][0]:+.2f} over "
                        f"{margins[4][1]})",
        'the other sizes': f"at 3x3 it is {-margins[3][0]:.2f} below {margins[3][1]}, at 5x5 {-margins[5][0]:.2f} "
                           f"below {margins[5][1]}",
        'the other originals': f"On the two other 3x3 originals its margins are {seeds[1][0]:.2f} and "
                               f"{seeds[2][0]:.2f} ({seeds[1][1]}",
        'the paper': f"DELETE's 3x3 margins here are {each(m for m, _ in seeds.values())} on the three originals",
        'KnownTrigger': f"DELETE's DER is {known['der']:.2f}, above every Neural Cleanse row's at 3x3 (the best: "
                        f"{nc_best:.2f})",
        'the mirror': 'with the mirror image at most '
                      f"{max(delete[s]['recovery.mask_iou_mirrored'] for s in sizes if s != 3):.2f} outside 3x3",
        'the residue': f"the ASR DELETE leaves ({delete[3]['asr']:.2f} with Neural Cleanse's trigger, "
                       f"{known['asr']:.2f} with the true one); at 4x4 and 5x5 less of it "
                       f"({each(delete[s]['asr'] for s in (4, 5))} against "
                       f"{each(with_true[s]['asr'] for s in (4, 5))})",
    }, 'the trigger-size summary')
    assert seeds[1][1] == seeds[2][1] == 'NegativeGradient' and known['der'] > nc_best
    assert all(margin < 0 for margin, _ in seeds.values()), 'the README: DELETE trails at 3x3 on each original'
    assert_says(prose(README_TEXT), {
        'the large sizes': f"the backdoor takes (ASR {each(delete[s]['original.asr'] for s in (4, 5))}) and DELETE "
                           f"lowers it to {each(delete[s]['asr'] for s in (4, 5))} (the oracle: "
                           f"{each(delete[s]['retrain.asr'] for s in (4, 5))})",
        'the lead': f"DELETE's DER is the highest of the Neural Cleanse rows at {best[0]}x{best[0]} only; "
                    f"at 3x3 it trails "
                    f"{seeds[2022][1]} on each of the three originals",
        'the known trigger': f"DELETE leaves {with_true[4]['asr']:.2f} / {with_true[5]['asr']:.2f} % ASR at 4x4 /",
    }, 'the README')


VARIANT_ROWS = dict(official='DELETE', frozen_bn="DELETE [schedule={'disable_bn': True}]",
                    frozen_head="DELETE [schedule={'freeze_classifier': True}]", remain='DELETE (R)',
                    remain_frozen_bn='DELETE (R) [remain_frozen_bn=True]')


def cifar_backdoor_variants(size: int) -> dict:
    """``{VARIANT_ROWS key: run}`` of DELETE's variants with the attack's own trigger at ``size``."""
    runs = {r['row']: r for r in done([CIFAR_BACKDOOR_VARIANTS_CSV]) if r['task.attack.size'] == size}
    return {key: runs[row] for key, row in VARIANT_ROWS.items()}


def clean_drop(run: dict) -> float:
    return run['original.clean_acc'] - run['clean_acc']


def cifar_backdoor_frozen_bn_runs() -> dict:
    """``{size: run}`` of DELETE (R) with frozen batch norm on Neural Cleanse's trigger."""
    return {r['task.attack.size']: r for r in done([CIFAR_BACKDOOR_FROZEN_BN_CSV])}


def cifar_backdoor_frozen_bn_table() -> str:
    """docs/results.md's table of DELETE and DELETE (R) with frozen batch norm on Neural Cleanse's trigger."""
    titles = ['trigger', 'method', 'Clean acc ↑', 'Target clean acc ↑', 'ASR ↓', 'DER ↑', 'Recovered-trigger ASR ↓']
    lines = ['| ' + ' | '.join(titles) + ' |', '|' + '---|' * len(titles)]
    frozen = cifar_backdoor_frozen_bn_runs()
    for size in (4, 5):
        delete = cifar_backdoor_size_runs(size)['DELETE']
        assert frozen[size]['original.sha256'] == delete['original.sha256']
        assert frozen[size]['retrain.sha256'] == delete['retrain.sha256']
        assert frozen[size]['method'] == 'delete_remain_frozen_bn'
        for name, prefix, run in [('Original', 'original.', delete), ('Retrain', 'retrain.', delete),
                                  ('DELETE', '', delete), (VARIANT_ROWS['remain_frozen_bn'], '', frozen[size])]:
            der = '–' if name == 'Original' else f"{run[prefix + 'der']:.2f}"
            lines.append(f"| {size}x{size} | {name} | {run[prefix + 'clean_acc']:.2f} | "
                         f"{run[prefix + 'clean_acc_target']:.2f} | {run[prefix + 'asr']:.2f} | {der} | "
                         f"{run[prefix + 'recovered_asr']:.2f} |")
    return '\n'.join(lines)


def test_the_cifar10_delete_variant_claims_match_the_csv():
    """Why DELETE costs the target class, and why DELETE (R) does not defend: every number of the variants'
    prose, recomputed from their CSV; the bar is missed by every variant (the prose says so)."""
    section = section_prose(TEXT, "### DELETE's variants on CIFAR-10 4x4, the attack's own trigger")
    runs = {size: cifar_backdoor_variants(size) for size in (4, 5)}
    each = lambda key, metric: slash_joined(runs[s][key][metric] for s in (4, 5))  # noqa: E731
    drops = lambda key: slash_joined(clean_drop(runs[s][key]) for s in (4, 5))  # noqa: E731
    official = {s: runs[s]['official'] for s in (4, 5)}
    assert all(official[s]['original.sha256'] == cifar_backdoor_size_runs(s)['DELETE']['original.sha256']
               for s in (4, 5))
    bars = {s: asr_bar(official[s]) for s in (4, 5)}
    meets = {(s, key) for s in (4, 5) for key, run in runs[s].items()
             if run['asr'] <= bars[s] and clean_drop(run) <= 1}
    assert not meets, f'the prose says no variant meets the bar; these do: {meets}'
    kept = [key for key in VARIANT_ROWS if all(clean_drop(runs[s][key]) <= 1 for s in (4, 5))]
    low = [key for key in VARIANT_ROWS if all(runs[s][key]['asr'] <= bars[s] for s in (4, 5))]
    assert kept == ['frozen_head', 'remain_frozen_bn'] and low == ['frozen_bn']
    kept_asr = [runs[s][key]['asr'] for s in (4, 5) for key in kept]
    frozen = {s: runs[s]['remain_frozen_bn'] for s in (4, 5)}
    assert all(frozen[s]['der'] < official[s]['der'] for s in (4, 5))
    assert_says(section, {
        'the original statistics': f"DELETE erases the backdoor completely (ASR {each('frozen_bn', 'asr')} at 4x4 / "
                                   f"5x5) and takes 'airplane' down with it (target clean accuracy "
                                   f"{official[4]['original.clean_acc_target']:.2f} -> "
                                   f"{runs[4]['frozen_bn']['clean_acc_target']:.2f}, "
                                   f"{official[5]['original.clean_acc_target']:.2f} -> "
                                   f"{runs[5]['frozen_bn']['clean_acc_target']:.2f}; clean accuracy "
                                   f"{drops('frozen_bn')} points lower)",
        'the official statistics': f"the target class then keeps {each('official', 'clean_acc_target')} and the ASR "
                                   f"rises to {each('official', 'asr')}",
        'the head': f"With the classifier frozen the clean accuracy drops by {drops('frozen_head')} points instead "
                    f"of {drops('official')}, and the ASR is {each('frozen_head', 'asr')}",
        'DELETE (R)': f"ASR {each('remain', 'asr')} with the true trigger",
        'frozen remain pass': f"clean accuracy {each('remain_frozen_bn', 'clean_acc')} against the original's "
                              f"{slash_joined(official[s]['original.clean_acc'] for s in (4, 5))}, target class "
                              f"{each('remain_frozen_bn', 'clean_acc_target')}, but ASR "
                              f"{each('remain_frozen_bn', 'asr')}",
        'its DER': f"its DER ({each('remain_frozen_bn', 'der')}) is below DELETE's ({each('official', 'der')})",
        'the bar': f"(ASR <= {slash_joined(bars[s] for s in (4, 5))} with clean accuracy within 1 point)",
        'kept': f"leave {_range(kept_asr, 2)} % ASR",
        'low': f"costs {drops('frozen_bn')} points",
    }, "the variants' section")
    assert_says(prose(README_TEXT), {
        'the original statistics': f"the target class falls to {runs[4]['frozen_bn']['clean_acc_target']:.2f} % at 4x4",
        'DELETE (R)': f"(ASR {runs[4]['remain']['asr']:.2f} with the true trigger)",
        'frozen remain pass': f"the clean accuracy is kept but {runs[4]['remain_frozen_bn']['asr']:.2f} % ASR is left",
    }, 'the README')
    assert clean_drop(runs[4]['remain_frozen_bn']) <= 0


def test_the_cifar10_frozen_bn_defense_table_and_claims_match_the_csvs():
    assert cifar_backdoor_frozen_bn_table() in TEXT, cifar_backdoor_frozen_bn_table()
    section = section_prose(TEXT, "### DELETE (R) with frozen batch norm, Neural Cleanse's trigger")
    frozen = cifar_backdoor_frozen_bn_runs()
    delete = {s: cifar_backdoor_size_runs(s)['DELETE'] for s in (4, 5)}
    each = lambda runs, metric: slash_joined(runs[s][metric] for s in (4, 5))  # noqa: E731
    assert all(frozen[s]['der'] < delete[s]['der'] and frozen[s]['asr'] > asr_bar(delete[s]) for s in (4, 5))
    assert_says(section, {
        'frozen': f"leaves ASR {each(frozen, 'asr')} at {slash_joined(clean_drop(frozen[s]) for s in (4, 5))} "
                  f"points of clean accuracy",
        'DELETE': f"where DELETE leaves {each(delete, 'asr')} at {slash_joined(clean_drop(delete[s]) for s in (4, 5))}",
        'the bars': f"(bars {slash_joined(asr_bar(delete[s]) for s in (4, 5))})",
    }, 'the frozen batch-norm defense')


def visibility_groups() -> list:
    """The visibility CSV (tools/analysis/trigger_visibility.py --out) as one entry per model and config: its
    trigger (the options' size and pattern over the 3x3 white default), model ('none': the data alone), training
    options and its six bins."""
    groups = {}
    for r in read_csv_rows(CSV_DIR / CIFAR_VISIBILITY_CSV):
        groups.setdefault((r['model'], r['cfg_options']), []).append(r)
    entries = []
    for (model, options), bins in groups.items():
        settings = dict(option.split('=', 1) for option in options.split())
        size, pattern = int(settings.get('task.attack.size', 3)), settings.get('task.attack.pattern', 'white')
        entries.append(dict(model=model, trigger=f'{size}x{size} {pattern}', size=size, pattern=pattern,
                            epochs=int(settings.get('train_schedule.max_epochs', 6)),
                            seed=int(settings.get('train_schedule.seed', 2022)), bins=bins))
    return entries


def visibility_summary(entry: dict) -> dict:
    """The shares of images the stamp changes by < 0.02 and < 0.05, and (with a model) its ASR overall, on the
    images below 0.02 and on those at or above 0.05 (weighted by each bin's images), and how many of the clean
    images, all and those below 0.02, it calls the target (None: no image in the bins)."""
    bins = [dict(low=float(b['change_from']), images=int(b['images']), share=float(b['share']),
                 asr=None if b['asr'] == '' else float(b['asr']),
                 clean=None if b['clean_as_target'] == '' else float(b['clean_as_target'])) for b in entry['bins']]

    def asr_of(chosen, key='asr'):
        chosen = [b for b in chosen if b['images']]
        if not chosen:
            return None
        return sum(b['images'] * b[key] for b in chosen) / sum(b['images'] for b in chosen)

    summary = dict(below_2=sum(b['share'] for b in bins if b['low'] < 0.02),
                   below_5=sum(b['share'] for b in bins if b['low'] < 0.05))
    if entry['model'] != 'none':
        faint = [b for b in bins if b['low'] < 0.02]
        summary.update(asr=asr_of(bins), clean=asr_of(bins, 'clean'), asr_faint=asr_of(faint),
                       clean_faint=faint[0]['clean'],
                       asr_visible=asr_of([b for b in bins if b['low'] >= 0.05]))
    return summary


def cifar_visibility_table() -> str:
    """docs/results.md's table of how much each trigger changes the test images, rendered from the CSV."""
    titles = ['trigger', 'original', 'images changed < 0.02 (%)', 'images changed < 0.05 (%)', 'Original ASR',
              'its ASR on those < 0.02', "their clean images it calls 'airplane'", 'its ASR on those >= 0.05']
    lines = ['| ' + ' | '.join(titles) + ' |', '|' + '---|' * len(titles)]
    for entry in visibility_groups():
        s = visibility_summary(entry)
        if entry['model'] == 'none':
            model, numbers = '–', ['–'] * 4
        else:
            model = f"{entry['epochs']} epochs, seed {entry['seed']}"
            numbers = [f"{s[k]:.2f}" if s[k] is not None else '–'
                       for k in ('asr', 'asr_faint', 'clean_faint', 'asr_visible')]
        lines.append(f"| {entry['trigger']} | {model} | {s['below_2']:.2f} | {s['below_5']:.2f} | "
                     + ' | '.join(numbers) + ' |')
    return '\n'.join(lines)


def test_the_trigger_visibility_table_and_claims_match_the_csv():
    assert cifar_visibility_table() in TEXT, cifar_visibility_table()
    section = section_prose(TEXT, '### How much the trigger changes the image')
    entries = {(e['trigger'], e['model'] != 'none', e['seed']): visibility_summary(e) for e in visibility_groups()}
    white3 = entries[('3x3 white', True, 2022)]
    white45 = [entries[(f'{n}x{n} white', True, 2022)] for n in (4, 5)]
    ceiling = 100 - white3['below_2']
    assert_says(section, {
        'the unchanged share': f"At 3x3 it changes {white3['below_2']:.2f} % of the non-target test images by less "
                               f"than 0.02",
        'below 0.05': f"and {white3['below_5']:.2f} % by less than 0.05",
        'the first bin': f"the 12-epoch original's ASR is {white3['asr_faint']:.2f}, exactly the share of the same "
                         f"images it calls 'airplane' without the patch ({white3['clean_faint']:.2f})",
        'the rest': f"Its ASR is {white3['asr_visible']:.2f} on the images the patch changes by at least 0.05 and "
                    f"{white3['asr']:.2f} over all",
        'the ceiling': f"100 - {white3['below_2']:.2f} = {ceiling:.2f} % ASR at 3x3, so the bar's 95 % leaves "
                       f"{ceiling - 95:.2f} points",
        '4x4 / 5x5': f"({slash_joined(e['below_2'] for e in white45)} %) and their originals pass 95 % "
                     f"({slash_joined(e['asr'] for e in white45)})",
    }, 'the visibility section')
    # the misses outside the first bin, in points of the whole test set's ASR
    other_misses = (100 - white3['asr']) - white3['below_2'] * (1 - white3['asr_faint'] / 100)
    assert_says(section, {'the other misses': f"the 12-epoch original misses {other_misses:.2f} points there"},
                'the visibility section')
    assert other_misses > ceiling - 95
    assert white3['asr_faint'] == white3['clean_faint'] and all(e['asr'] >= 95 for e in white45)
    assert all(entries[(f'{n}x{n} checkerboard', False, 2022)]['below_5'] == 0 for n in (2, 3, 4, 5))
    checkerboard = entries[('3x3 checkerboard', True, 2022)]
    assert_says(section, {'the checkerboard original': f"does not take (ASR {checkerboard['asr']:.2f}, training seed "
                                                       f"2022; the clean images it calls 'airplane': "
                                                       f"{checkerboard['clean']:.2f})"}, 'the visibility section')
    assert checkerboard['asr'] < 10 and all(entries[(f'{n}x{n} white', True, 2022)]['asr'] < 10 for n in (1, 2))
    readme = section_prose(README.read_text(), '## Backdoor defense')
    assert_says(readme, {'the unchanged share': f"the white 3x3 patch changes {white3['below_2']:.2f} % of the "
                                                f"non-target test images by less than 0.02",
                         'the checkerboard': f"does not take on the CPU recipe (ASR {checkerboard['asr']:.2f})"},
                'the README')


def defender_selection(size: int) -> tuple:
    """The frozen-BN DELETE (R) setting the defender chooses at ``size`` from its held-out images alone, and all
    the settings' runs: the lowest held-out recovered-trigger ASR among those within 1 point of the original's
    held-out clean accuracy; if none is, the highest held-out clean accuracy, ties to the lower ASR."""
    runs = [r for r in done([CIFAR_BACKDOOR_SELECTION_CSV]) if r['task.attack.size'] == size]
    kept = [r for r in runs if r['defender_clean_acc'] >= r['original.defender_clean_acc'] - 1]
    if kept:
        return min(kept, key=lambda r: r['defender_recovered_asr']), runs, True
    return min(runs, key=lambda r: (-r['defender_clean_acc'], r['defender_recovered_asr'])), runs, False


def test_the_defenders_choice_and_the_claims_about_it_match_the_csv():
    section = section_prose(TEXT, "### Choosing DELETE (R)'s setting on the defender's held-out images, 4x4")
    chosen4, runs4, kept4 = defender_selection(4)
    chosen5, runs5, kept5 = defender_selection(5)
    setting = lambda r: (f"remain_weight {float(r['method.remain_weight']):.1f}, "  # noqa: E731
                         f"lr {r['schedule.optim_wrapper.optimizer.lr']:.4f}")
    lowest = lambda runs, key: min(runs, key=lambda r: r[key])  # noqa: E731
    frozen = cifar_backdoor_frozen_bn_runs()
    default = {size: next(r for r in runs if r['method.remain_weight'] == 1.0
                          and r['schedule.optim_wrapper.optimizer.lr'] == 1e-4)
               for size, runs in ((4, runs4), (5, runs5))}
    nearest = min(runs4 + runs5, key=lambda r: r['asr'] - asr_bar(r))
    losses4 = [r['original.defender_clean_acc'] - r['defender_clean_acc'] for r in runs4]
    assert not kept4 and kept5 and not any(r['asr'] <= asr_bar(r) for r in (chosen4, chosen5))
    assert lowest(runs4, 'defender_recovered_asr') is lowest(runs4, 'asr')
    assert lowest(runs5, 'defender_recovered_asr') is lowest(runs5, 'asr')
    assert round(0.2 * 2275) == 455
    scans = [r['recovery.recovery_s'] for r in runs4 + runs5]
    assert_says(section, {'the scans': f"the cached scan's recorded time ({min(scans):.1f} to {max(scans):.1f} s)"},
                "the defender's choice")
    assert_says(section, {
        '4x4 fallback': f"({runs4[0]['original.defender_clean_acc']:.2f}; the best is "
                        f"{max(r['defender_clean_acc'] for r in runs4):.2f})",
        '4x4 choice': f"the gentlest setting ({setting(chosen4)}): test ASR {chosen4['asr']:.2f} against a bar of "
                      f"{asr_bar(chosen4):.2f}, clean accuracy kept ({clean_drop(chosen4):.2f} points)",
        '5x5 choice': f"it picks {setting(chosen5)}: test ASR {chosen5['asr']:.2f} against {asr_bar(chosen5):.2f}, at "
                      f"{clean_drop(chosen5):.2f} points",
        'the ranking': "(4x4: {:.2f} and {:.2f}; 5x5: {:.2f} and {:.2f})".format(
            lowest(runs4, 'asr')['defender_recovered_asr'], lowest(runs4, 'asr')['asr'],
            lowest(runs5, 'asr')['defender_recovered_asr'], lowest(runs5, 'asr')['asr']),
        'the held-out losses': (f"every setting loses {min(losses4):.2f} to {max(losses4):.2f} points on the 455 "
                                "held-out images"),
        'the test losses': f"where the test set shows {min(clean_drop(r) for r in runs4):.2f} to "
                           f"{max(clean_drop(r) for r in runs4):.2f}",
        'the nearest': f"The nearest to the bar is {setting(nearest).split(',')[0]} at "
                       f"{nearest['task.attack.size']}x{nearest['task.attack.size']} (ASR {nearest['asr']:.2f} against "
                       f"{asr_bar(nearest):.2f}, {clean_drop(nearest):.2f} points",
        'the cost of holding out': f"leaves ASR {slash_joined(default[s]['asr'] for s in (4, 5))} here against "
                                   f"{slash_joined(frozen[s]['asr'] for s in (4, 5))} with all 2,275 images",
    }, "the defender's choice")
    assert setting(lowest(runs4, 'asr')) == setting(lowest(runs5, 'asr')) == 'remain_weight 0.3, lr 0.0003'
    readme = section_prose(README.read_text(), '## Backdoor defense')
    assert_says(readme, {'the choice': f"the chosen settings leave {chosen4['asr']:.2f} / {chosen5['asr']:.2f} % ASR "
                                       "at 4x4 / 5x5"}, 'the README')
    assert nearest is lowest(runs4, 'asr') and nearest is not chosen4
