"""What a run leaves for people: the paper-style table (report.md) and the unlearning curves (PNG)."""
from pathlib import Path
from typing import Dict, List, Optional


def diverged_fact(count: int, outputs: str, consequence: str = '') -> str:
    """The report line for a network with NaN or infinite outputs (``metrics['non_finite_outputs']``)."""
    return f"the network's outputs are NaN or infinite on {count} evaluated {outputs}: they count as wrong " \
           f'predictions{consequence}'


def _cell(value) -> str:
    return '–' if value is None else f'{value:.2f}'


def markdown_table(rows: Dict[str, Dict], columns: Dict[str, str]) -> str:
    """A markdown table with one row per model (original / retrain / this run); ``columns``: metric key ->
    title (the evaluator's)."""
    head = '| model | ' + ' | '.join(columns.values()) + ' |'
    rule = '|---|' + '---|' * len(columns)
    body = ['| ' + name + ' | ' + ' | '.join(_cell(m.get(c)) for c in columns) + ' |' for name, m in rows.items()]
    return '\n'.join([head, rule, *body])


def render_report(*, title: str, table: str, facts: Dict[str, str], notes: List[str]) -> str:
    lines = [f'# {title}', '', table, '']
    lines += [f'- **{k}**: {v}' for k, v in facts.items()]
    if notes:
        lines += ['', *[f'> {n}' for n in notes]]
    return '\n'.join(lines) + '\n'


def save_figure(fig, path: Path) -> Path:
    """Write a matplotlib figure (creating its folder) and free it."""
    import matplotlib.pyplot as plt
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display on servers), imported only when drawing."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_curves(history: List[dict], path: Path, title: str) -> Optional[Path]:
    """Accuracy per split against the unlearning epoch (epoch 0 = the original model)."""
    if len(history) < 2:
        return None
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    epochs = [h['epoch'] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    styles = dict(train_forget=('tab:red', '-'), test_forget=('tab:red', '--'),
                  train_remain=('tab:blue', '-'), test_remain=('tab:blue', '--'))
    for split in (k for k in history[0] if k != 'epoch'):
        color, dash = styles.get(split, (None, '-'))
        ax.plot(epochs, [h[split] for h in history], dash, color=color, marker='o', ms=3, label=split)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel('unlearning epoch')
    ax.set_ylabel('accuracy (%) on a fixed sample')
    ax.set_ylim(-2, 102)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
