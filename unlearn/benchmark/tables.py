"""A benchmark's tables in the paper's layout, from its per-cell records (one results.csv row each).

Rows: Original, Retrain (unless the runs had no oracle: ``retrain = None``), then each method in the config's
order ("(R)" marks remain-data methods). Columns: the metrics as mean ± sample standard deviation over seeds,
titled as the task's evaluator titles them (``TaskEvaluator.columns``; LaTeX titles derived from those), the
wall time and the speed-up over retraining, repeated per forget set (the paper's column groups: CIFAR-10 /
CIFAR-100 in Table 1, 1-20 classes in Table 4). A grid over a reference-model key (model, task,
train_schedule) gives one table per value.
"""
import csv
import io
import math
import re
import statistics
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

#: Columns every table gets after the task's metrics: the benchmark's own, titled here. The metrics' titles
#: are the task evaluator's (``TaskEvaluator.columns``); the benchmark passes them in.
DEFAULT_EXTRA_COLUMNS = ('time_s', 'speedup')
EXTRA_TITLES = dict(time_s='Time (s)', speedup='Speed-up')
#: The columns of a table: metric key -> title, or just the keys (titled by ``EXTRA_TITLES``, else the key).
Columns = Union[Mapping[str, str], Sequence[str]]
REFERENCE_ROWS = dict(Original='original', Retrain='retrain')
_CSV_HEAD = ['cell', 'status', 'section', 'row', 'method', 'forget_set', 'forget_classes', 'n_forget', 'seed']


@dataclass
class Stat:
    """Mean and sample standard deviation (None for a single value) of ``n`` values."""
    mean: float
    std: Optional[float]
    n: int


def summarize(values: Sequence[Optional[float]]) -> Optional[Stat]:
    values = [float(v) for v in values if v is not None and v != '' and not math.isnan(float(v))]
    if not values:
        return None
    return Stat(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values))


def column_titles(columns: Columns) -> Dict[str, str]:
    """``{key: title}`` of a table's columns, in order: a mapping's own titles (the benchmark's extras titled by
    ``EXTRA_TITLES`` where it leaves them out), a list's keys titled by ``EXTRA_TITLES`` or themselves."""
    if isinstance(columns, Mapping):
        return {c: columns[c] or EXTRA_TITLES.get(c, c) for c in columns}
    return {c: EXTRA_TITLES.get(c, c) for c in columns}


_ARROWS = {'↓': r'\downarrow', '↑': r'\uparrow'}
_SYMBOLS = {'→': r'$\rightarrow$', '←': r'$\leftarrow$'}
_TITLE_PARTS = re.compile(r'(?P<text>.*?)(?:_(?P<sub>[A-Za-z0-9]+))?(?: (?P<arrow>[↓↑]))?')


def latex_title(title: str) -> str:
    r"""A column title in LaTeX: a trailing ``_sub`` as a subscript and a trailing arrow in math mode
    (``Acc_ft ↓`` -> ``Acc$_{ft}\downarrow$``, ``H-Mean ↑`` -> ``H-Mean$\uparrow$``), the rest escaped (arrows
    elsewhere in math mode too). Derived from the evaluator's titles, so a task never writes LaTeX."""
    parts = _TITLE_PARTS.fullmatch(title)
    sub, arrow = parts['sub'], parts['arrow']
    maths = ('' if sub is None else f'_{sub}' if len(sub) == 1 else f'_{{{sub}}}') + _ARROWS.get(arrow, '')
    text = _latex_escape(parts['text'])
    for symbol, latex in _SYMBOLS.items():
        text = text.replace(symbol, latex)
    return text + (f'${maths}$' if maths else '')


def _distinct_models(records: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    """One record per distinct ``kind`` checkpoint: the reference rows are not weighted by the method count."""
    seen = {}
    for r in records:
        seen.setdefault(r.get(f'{kind}.sha256'), r)
    return list(seen.values())


def _reference_row(records, kind: str, columns: Sequence[str]) -> Dict[str, Optional[Stat]]:
    models = _distinct_models(records, kind)
    row = {c: summarize([m.get(f'{kind}.{c}') for m in models]) for c in columns}
    row['time_s'] = summarize([m.get(f'{kind}.train_s') for m in models])
    row['speedup'] = Stat(1.0, None, 1) if kind == 'retrain' and row['time_s'] else None
    return row


def _has_reference(done: List[Dict[str, Any]], kind: str) -> bool:
    """Whether the table gets a ``kind`` row: unless its finished runs had none (``retrain = None``: no oracle).
    A group with no finished run yet shows every reference row, empty."""
    return not done or any(r.get(f'{kind}.sha256') for r in done)


def _method_row(records, columns: Sequence[str]) -> Dict[str, Optional[Stat]]:
    row = {c: summarize([r.get(c) for r in records]) for c in columns}
    retrain = summarize([m.get('retrain.train_s') for m in _distinct_models(records, 'retrain')])
    row['speedup'] = Stat(retrain.mean / row['time_s'].mean, None, 1) \
        if retrain and row['time_s'] and row['time_s'].mean > 0 else None
    return row


def aggregate(records: List[Dict[str, Any]], columns: Sequence[str]) -> Dict[str, Dict[str, Dict[str, dict]]]:
    """``{section: {forget set: {row: {column: Stat or None}}}}`` over the finished records.

    Rows and groups keep the order of the records (the grid's order); a row with no finished cell is kept,
    empty, so a table always shows what the grid contains.
    """
    metric_columns = [c for c in columns if c not in DEFAULT_EXTRA_COLUMNS] + ['time_s']
    tables: Dict[str, Dict[str, Dict[str, dict]]] = {}
    for section in dict.fromkeys(r['section'] for r in records):
        in_section = [r for r in records if r['section'] == section]
        for group in dict.fromkeys(r['forget_set'] for r in in_section):
            cells = [r for r in in_section if r['forget_set'] == group]
            done = [r for r in cells if r['status'] == 'done']
            rows = {title: _reference_row(done, kind, metric_columns) for title, kind in REFERENCE_ROWS.items()
                    if _has_reference(done, kind)}
            for name in dict.fromkeys(r['row'] for r in cells):
                rows[name] = _method_row([r for r in done if r['row'] == name], metric_columns)
            tables.setdefault(section, {})[group] = rows
    return tables


def _number(column: str, value: float) -> str:
    if column == 'speedup':
        return f'{value:.1f}×' if value < 10 else f'{value:.0f}×'
    return f'{value:.1f}' if column == 'time_s' else f'{value:.2f}'


def format_stat(column: str, stat: Optional[Stat], pm: str = ' ± ') -> str:
    if stat is None:
        return '–'
    text = _number(column, stat.mean)
    return text if stat.std is None else f'{text}{pm}{_number(column, stat.std)}'


#: A one-thread timing that got less of a core than this had other work on its core: its wall time is inflated.
CONTENDED_CPU_SHARE = 0.8


def _contended(timings) -> int:
    """How many one-thread ``(threads, wall s, CPU s)`` timings got under ``CONTENDED_CPU_SHARE`` of their core."""
    return sum(threads == 1 and bool(wall and cpu) and cpu / wall < CONTENDED_CPU_SHARE
               for threads, wall, cpu in timings)


def _seed_note(records: List[Dict[str, Any]]) -> str:
    seeds = list(dict.fromkeys(r['seed'] for r in records))
    missing = [r for r in records if r['status'] != 'done']
    note = (f'Mean ± sample standard deviation over {len(seeds)} seed{"s" * (len(seeds) != 1)} '
            f'({", ".join(map(str, seeds))}). '
            'Time: unlearning wall time of a method, training wall time of Original and Retrain; '
            "speed-up: Retrain's training time / the method's unlearning time.")
    built = [r['request_s'] for r in records if r.get('request_s')]
    if built:
        note += (" A method's time includes building its forget set from the original (e.g. a trigger recovery: "
                 f'{min(built):.1f}-{max(built):.1f} s).')
    if missing:
        note += (f' {len(missing)} of {len(records)} cells are not finished '
                 f'({", ".join(sorted({r["status"] for r in missing}))}): their rows average fewer seeds.')
    return note + _timing_note([r for r in records if r['status'] == 'done'])


def _timing_note(done: List[Dict[str, Any]]) -> str:
    """What makes the wall times, hence the speed-ups, unequal: a shared core, or unequal thread counts."""
    oracles = _distinct_models(done, 'retrain')
    note = ''
    runs = _contended((r.get('threads'), r.get('time_s') and r['time_s'] - (r.get('request_s') or 0), r.get('cpu_s'))
                      for r in done)
    contended_oracles = _contended((m.get('retrain.threads'), m.get('retrain.train_s'), m.get('retrain.train_cpu_s'))
                                   for m in oracles)
    if runs or contended_oracles:
        what = [f'{runs} of {len(done)} runs'] * bool(runs) + ["the oracle's training"] * bool(contended_oracles)
        note += (f' Contended timing: {" and ".join(what)} (one thread) had under {CONTENDED_CPU_SHARE:.0%} of a '
                 'core (other work shared it; CPU time is in results.csv): those wall times, and speed-ups, are off.')
    # A 2-thread oracle against 1-thread runs understates the speed-up (measured: 1.8x where like for like is ~2.0x).
    oracle_threads = sorted({m['retrain.threads'] for m in oracles if m.get('retrain.threads')})
    run_threads = sorted({r['threads'] for r in done if r.get('threads')})
    if oracle_threads and run_threads and oracle_threads != run_threads:
        note += (f' Unequal threads: Retrain trained with {"/".join(map(str, oracle_threads))}, the methods '
                 f'unlearned with {"/".join(map(str, run_threads))}: the speed-up compares unequal CPU budgets '
                 '(CPU time is in results.csv).')
    return note


def markdown_tables(records: List[Dict[str, Any]], columns: Columns, title: str) -> str:
    """table.md: a table per section, forget sets side by side (their name before each column title).
    ``columns``: metric key -> title (the task evaluator's ``columns`` and the benchmark's extras), or keys."""
    titles = column_titles(columns)
    lines = [f'# {title}', '', _seed_note(records), '']
    for section, groups in aggregate(records, list(titles)).items():
        if section:
            lines += [f'## {section}', '']
        several = len(groups) > 1
        if not several:
            lines += [f'Forgetting: {next(iter(groups))}', '']
        heads = [f'{g}: {t}' if several else t for g in groups for t in titles.values()]
        lines += ['| method | ' + ' | '.join(heads) + ' |', '|---|' + '---|' * len(heads)]
        for name in next(iter(groups.values())):
            cells = [format_stat(c, groups[g].get(name, {}).get(c)) for g in groups for c in titles]
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    return '\n'.join(lines)


def _latex_escape(text: str) -> str:
    for char in '\\&%$#_{}':
        text = text.replace(char, '\\' + char)
    return text.replace('±', r'$\pm$').replace('×', r'$\times$').replace('–', '--')


def latex_tables(records: List[Dict[str, Any]], columns: Columns, title: str) -> str:
    """table.tex: a booktabs tabular per section, a multicolumn header per forget set (``columns`` as in
    :func:`markdown_tables`; the titles in LaTeX by :func:`latex_title`)."""
    titles = column_titles(columns)
    heads = [latex_title(t) if t != c else _latex_escape(c) for c, t in titles.items()]
    out = [f'% {title}: generated by tools/benchmark.py. {_seed_note(records)}',
           '% needs \\usepackage{booktabs}']
    for section, groups in aggregate(records, list(titles)).items():
        width = len(titles)
        out += [f'% {section}' if section else '%', r'\begin{tabular}{l' + 'c' * width * len(groups) + '}',
                r'\toprule',
                ' & '.join([''] + [rf'\multicolumn{{{width}}}{{c}}{{{_latex_escape(str(g))}}}' for g in groups])
                + r' \\',
                ' '.join(rf'\cmidrule(lr){{{2 + i * width}-{1 + (i + 1) * width}}}' for i in range(len(groups))),
                ' & '.join(['Method'] + heads * len(groups)) + r' \\', r'\midrule']
        names = list(next(iter(groups.values())))
        references = sum(name in REFERENCE_ROWS for name in names)  # Retrain is left out of a run without one
        for i, name in enumerate(names):
            if i == references:
                out.append(r'\midrule')
            cells = [_latex_escape(format_stat(c, groups[g].get(name, {}).get(c), pm='±')) for g in groups
                     for c in titles]
            out.append(' & '.join([_latex_escape(name)] + cells) + r' \\')
        out += [r'\bottomrule', r'\end{tabular}', '']
    return '\n'.join(out)


def results_csv(records: List[Dict[str, Any]]) -> str:
    """results.csv: one row per cell, the fixed settings first, then every key any record has."""
    fields = list(dict.fromkeys(_CSV_HEAD + [k for r in records for k in r]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, restval='', lineterminator='\n')
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def read_results(path) -> List[Dict[str, Any]]:
    """results.csv back as records, numbers as floats, whole ones as ints (thread counts, seeds; a merged row
    written back as "2.0" reads as 2 again)."""
    def value(text: str):
        try:
            number = float(text)
        except ValueError:
            return text or None
        return int(number) if number.is_integer() else number
    with open(path, newline='') as f:
        return [{k: value(v) if k not in _CSV_HEAD[:7] else v for k, v in row.items()} for row in csv.DictReader(f)]
