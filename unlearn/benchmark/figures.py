"""The paper's benchmark figures, drawn from a benchmark's records (results.csv rows).

* Fig. 2, stability: a box per method of each metric over the seeds (:func:`seed_boxplot`);
* Fig. 3, one learning rate for every forget-set size: a metric against the number of forgotten classes,
  a line per method, Retrain dashed (:func:`forget_set_size_plot`);
* Table 5 as curves: a panel per swept grid key (alpha, T), the metrics against its values (:func:`sweep_plot`);
* every method against one swept key (the backdoor's trigger size): a panel per metric, a line per row, Retrain
  dashed (:func:`methods_sweep_plot`).
"""
import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import UnlearnError
from ..reports import pyplot, save_figure

FIGURES = ('seed_boxplot', 'forget_set_size', 'sweep', 'methods_sweep')
#: ``titles`` of the figures below: metric key -> its label (the task evaluator's ``columns``, which a benchmark
#: writes into its benchmark.json); a metric it does not title is labelled by its key.
Titles = Optional[Mapping[str, str]]


def _label(titles: Titles, metric: str) -> str:
    return (titles or {}).get(metric) or metric


def _done(records: List[Dict[str, Any]], metrics: Sequence[str]) -> List[Dict[str, Any]]:
    """The finished cells; a metric they do not have is a typo, said in one line."""
    done = [r for r in records if r['status'] == 'done']
    missing = [m for m in metrics if done and all(r.get(m) is None for r in done)]
    if missing:
        raise UnlearnError(f'no finished cell has {missing}; results.csv has {sorted(done[0])}')
    return done


def _group(records: List[Dict[str, Any]], *fields: str) -> Dict[tuple, List[Dict[str, Any]]]:
    """The records by their values of ``fields``, groups and members in record (table) order."""
    groups: Dict[tuple, List[Dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(tuple(r[f] for f in fields), []).append(r)
    return groups


def seed_boxplot(records: List[Dict[str, Any]], path: Path, metrics: Sequence[str] = ('acc_ft', 'acc_rt'),
                 title: str = '', titles: Titles = None) -> Path:
    """A panel per metric, a box per table row (and forget set, if several) over the seeds."""
    plt = pyplot()
    done = _done(records, metrics)
    several = len({r['forget_set'] for r in done}) > 1
    boxes = _group(done, 'row', 'forget_set')
    keys = list(boxes)
    labels = [f'{row} · {group}' if several else row for row, group in keys]
    seeds = [len({r['seed'] for r in cells}) for cells in boxes.values()]
    if len(set(seeds)) > 1:  # a row with fewer finished seeds says so under its box
        labels = [f'{label} (n={n})' for label, n in zip(labels, seeds)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(6.0, 0.45 * len(keys)) * len(metrics) / 1.5, 4.5),
                             dpi=120, squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        values = [[r[metric] for r in cells if r.get(metric) is not None] for cells in boxes.values()]
        ax.boxplot(values, showmeans=True)
        retrain = {r.get(f'retrain.{metric}') for r in done} - {None}
        if len(retrain) == 1:  # one forget set and one oracle: its value is the target
            ax.axhline(retrain.pop(), color='black', linestyle='--', linewidth=1, label='Retrain')
            ax.legend(fontsize=7)
        ax.set_xticks(range(1, len(keys) + 1), labels, rotation=60, ha='right', fontsize=7)
        ax.set_ylabel(f'{_label(titles, metric)} (%)')
        ax.grid(axis='y', alpha=0.3)
    counts = f'{min(seeds)}-{max(seeds)}' if len(set(seeds)) > 1 else f'{seeds[0] if seeds else 0}'
    fig.suptitle(title or f'{counts} seeds per method', fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def forget_set_size_plot(records: List[Dict[str, Any]], path: Path, metric: str = 'h_mean', title: str = '',
                         titles: Titles = None) -> Path:
    """Mean ± std of ``metric`` over seeds against the number of forgotten classes, a line per row."""
    from .tables import summarize
    plt = pyplot()
    done = _done(records, [metric])
    sizes = sorted({int(r['n_forget']) for r in done})
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for row in dict.fromkeys(r['row'] for r in done):
        stats = [summarize([r.get(metric) for r in done if r['row'] == row and int(r['n_forget']) == n])
                 for n in sizes]
        points = [(n, s) for n, s in zip(sizes, stats) if s is not None]
        ax.errorbar([n for n, _ in points], [s.mean for _, s in points], yerr=[s.std or 0 for _, s in points],
                    marker='o', ms=4, capsize=3, label=row)
    retrain = {}
    for r in done:
        retrain.setdefault(int(r['n_forget']), r.get(f'retrain.{metric}'))
    if any(v is not None for v in retrain.values()):
        ax.plot(sorted(retrain), [retrain[n] for n in sorted(retrain)], 'k--', label='Retrain')
    ax.set_xscale('log')
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xlabel('number of forgotten classes')
    ax.set_ylabel(f'{_label(titles, metric)} (%)')
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def _same(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _axis(key: str, values: Sequence[Any]) -> Tuple[list, List[str]]:
    """Where each swept value sits on the x axis and its tick label: a quantity at its value, a seed (a key named
    ``seed`` or ``*.seed``, a label rather than an amount: 1, 2, 2022) or a non-number evenly spaced."""
    if _numeric(values) and key.rsplit('.', 1)[-1] != 'seed':
        return list(values), [f'{v:g}' for v in values]
    return list(range(len(values))), [str(v) for v in values]


def swept_keys(rows: Sequence[Mapping[str, Any]], grid_keys: Sequence[str]) -> List[str]:
    """The grid keys that take two values or more among ``rows`` (records, or cells' grid values)."""
    return [k for k in grid_keys if len({_same(r.get(k)) for r in rows}) > 1]


def _swept(done: List[Dict[str, Any]], grid_keys: Sequence[str], figure: str) -> List[str]:
    """The grid keys that take two values or more among the finished cells; none is an error of the figure's."""
    swept = swept_keys(done, grid_keys)
    if not swept:
        raise UnlearnError(f'{figure}: none of the grid keys {list(grid_keys)} takes two values among the finished '
                           'cells; give the keys benchmark.grid varies')
    return swept


def sweep_series(records: List[Dict[str, Any]], key: str, grid_keys: Sequence[str]) -> Tuple[list, dict, list]:
    """The finished cells that sweep ``key`` with every other grid key held at its most common value (its
    default in a one-key-at-a-time grid such as Table 5's, so the T sweep includes the alpha = 0, T = 1 run).

    Returns the swept values in order (sorted if numeric), the held values, and the cells.
    """
    done = [r for r in records if r['status'] == 'done']
    if not done:
        return [], {}, []
    held = {j: Counter(_same(r.get(j)) for r in done).most_common(1)[0][0] for j in grid_keys if j != key}
    cells = [r for r in done if all(_same(r.get(j)) == v for j, v in held.items())]
    values = list(dict.fromkeys(r.get(key) for r in cells))
    return sorted(values) if _numeric(values) else values, {j: json.loads(v) for j, v in held.items()}, cells


def sweep_plot(records: List[Dict[str, Any]], path: Path, grid_keys: Sequence[str],
               metrics: Sequence[str] = ('acc_ft', 'acc_rt', 'h_mean'), title: str = '', titles: Titles = None
               ) -> Path:
    """A panel per grid key that takes several values, and a row of panels per method and forget set: each
    metric's mean ± std over seeds against the key's value (the other keys held, see :func:`sweep_series`),
    Retrain's value dashed in the metric's colour."""
    from .tables import summarize
    plt = pyplot()
    done = _done(records, metrics)
    swept = _swept(done, grid_keys, 'sweep')
    groups = _group(done, 'method', 'forget_set')  # one row of panels each
    fig, axes = plt.subplots(len(groups), len(swept), figsize=(4.6 * len(swept), 3.8 * len(groups)), dpi=120,
                             squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for panels, ((method, forget_set), group) in zip(axes, groups.items()):
        for ax, key in zip(panels, swept):
            values, held, cells = sweep_series(group, key, grid_keys)
            xs, ticks = _axis(key, values)
            at_value = {}  # the cells of each swept value
            for r in cells:
                at_value.setdefault(_same(r.get(key)), []).append(r)
            for metric, color in zip(metrics, colors):
                stats = [summarize([r.get(metric) for r in at_value[_same(v)]]) for v in values]
                points = [(x, st) for x, st in zip(xs, stats) if st is not None]
                ax.errorbar([x for x, _ in points], [st.mean for _, st in points],
                            yerr=[st.std or 0 for _, st in points], marker='o', ms=4, capsize=3, color=color,
                            label=_label(titles, metric))
                retrain = {r.get(f'retrain.{metric}') for r in cells} - {None}
                if len(retrain) == 1:
                    ax.axhline(retrain.pop(), color=color, linestyle='--', linewidth=1)
            ax.set_xticks(xs, ticks)
            ax.set_xlabel(key + (' (' + ', '.join(f'{j}={v}' for j, v in held.items()) + ')' if held else ''),
                          fontsize=8)
            ax.set_ylabel('%')
            if len(groups) > 1:
                ax.set_title(f'{method} · {forget_set}', fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, title='dashed: Retrain', title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def methods_sweep_plot(records: List[Dict[str, Any]], path: Path, grid_keys: Sequence[str], metrics: Sequence[str],
                       title: str = '', titles: Titles = None) -> Path:
    """A row of panels per grid key the finished cells vary, a panel per metric: its mean ± std over seeds
    against the key's values (the other keys held, see :func:`sweep_series`), a line per table row, and
    Retrain's value at each point dashed (each point may have its own oracle)."""
    from .tables import summarize
    plt = pyplot()
    done = _done(records, metrics)
    swept = _swept(done, grid_keys, 'methods_sweep')
    columns = min(4, len(metrics))
    rows_per_key = -(-len(metrics) // columns)
    size = (4.2 * columns, 3.6 * len(swept) * rows_per_key)
    fig, axes = plt.subplots(len(swept) * rows_per_key, columns, figsize=size, dpi=120, squeeze=False)
    blocks = axes.reshape(len(swept), -1)  # the panels of each swept key, row by row
    for ax in blocks[:, len(metrics):].flat:
        ax.axis('off')
    for panels, key in zip(blocks, swept):
        values, held, cells = sweep_series(done, key, grid_keys)
        xs, ticks = _axis(key, values)
        for ax, metric in zip(panels, metrics):
            for row, group in _group(cells, 'row').items():
                stats = [summarize([r.get(metric) for r in group if _same(r.get(key)) == _same(v)]) for v in values]
                points = [(x, st) for x, st in zip(xs, stats) if st is not None]
                ax.errorbar([x for x, _ in points], [st.mean for _, st in points],
                            yerr=[st.std or 0 for _, st in points], marker='o', ms=4, capsize=3, label=row[0])
            retrain = {}
            for r in cells:
                if r.get(f'retrain.{metric}') is not None:
                    retrain.setdefault(_same(r.get(key)), r[f'retrain.{metric}'])
            at = [(x, retrain[_same(v)]) for x, v in zip(xs, values) if _same(v) in retrain]
            if at:
                ax.plot([x for x, _ in at], [y for _, y in at], 'k--', label='Retrain')
            ax.set_xticks(xs, ticks)
            ax.set_xlabel(key + (' (' + ', '.join(f'{j}={v}' for j, v in held.items()) + ')' if held else ''),
                          fontsize=8)
            ax.set_ylabel(f'{_label(titles, metric)} (%)')
            ax.grid(alpha=0.3)
        if len(panels) > len(metrics):  # the legend fills the first empty panel
            panels[len(metrics)].legend(*panels[0].get_legend_handles_labels(), fontsize=8, loc='center')
        else:
            panels[-1].legend(fontsize=7, loc='center left', bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def draw_figures(records: List[Dict[str, Any]], names: Sequence[str], out_dir: Path, title: str = '',
                 grid_keys: Sequence[str] = (), titles: Titles = None, metrics: Sequence[str] = ()) -> List[Path]:
    """The figures ``benchmark.figures`` names, as ``<out_dir>/<name>.png``; ``grid_keys``: what ``sweep`` and
    ``methods_sweep`` plot; ``titles``: the metrics' labels; ``metrics``: the table's (``methods_sweep``'s panels)."""
    draw = dict(seed_boxplot=seed_boxplot, forget_set_size=forget_set_size_plot,
                sweep=functools.partial(sweep_plot, grid_keys=grid_keys),
                methods_sweep=functools.partial(methods_sweep_plot, grid_keys=grid_keys, metrics=metrics))
    if not any(r['status'] == 'done' for r in records):
        return []
    return [draw[name](records, out_dir / f'{name}.png', title=title, titles=titles) for name in names]
