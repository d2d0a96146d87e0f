"""Reading finished run folders back: the forget request they answered and their networks (for analysis)."""
import json
from pathlib import Path
from typing import Dict, Sequence, Tuple

from mmengine.config import Config
from torch import nn

from .apis import Experiment, load_experiment
from .checkpoint import load_weights
from .errors import UnlearnError


def _table_name(meta: dict) -> str:
    """The method's name as in the run's report: "(R)" if it read remaining data. Runs written before
    meta.json recorded the name get it from the method's type and its remain-data flag."""
    if 'method_table_name' in meta:
        return meta['method_table_name']
    return meta['method']['type'] + (' (R)' if meta.get('method_uses_remain_data') else '')


def load_run_networks(run_dirs: Sequence[Path]) -> Tuple[Experiment, Dict[str, nn.Module]]:
    """The experiment of the runs (task, forget request) and ``{'Original', 'Retrain' (if the runs had one),
    <each run's method>: network}``.

    The reference models are the first run's (from the checkpoint paths in its meta.json); every run must
    have forgotten the same classes from the same original model, or the panels would not be comparable.
    """
    metas = []
    for run_dir in map(Path, run_dirs):
        if not (run_dir / 'meta.json').is_file() or not (run_dir / 'unlearned.pth').is_file():
            raise UnlearnError(f'{run_dir} is not a finished run folder (no meta.json / unlearned.pth)')
        metas.append(json.loads((run_dir / 'meta.json').read_text()))
    first = metas[0]
    for run_dir, meta in zip(run_dirs, metas):
        if (meta['forget_classes'] != first['forget_classes']
                or meta['checkpoints']['original']['sha256'] != first['checkpoints']['original']['sha256']):
            raise UnlearnError(f'{run_dir} forgot other classes or started from another original model than '
                               f'{run_dirs[0]}')
    cfg = Config.fromfile(str(Path(run_dirs[0]) / 'config.py'), import_custom_modules=False)
    experiment = load_experiment(cfg)
    networks = {}
    for title, kind in (('Original', 'original'), ('Retrain', 'retrain')):
        if first['checkpoints'].get(kind) is None:
            continue
        path = Path(first['checkpoints'][kind]['path'])
        if not path.is_file():
            raise UnlearnError(f'the {kind} model {path} of {run_dirs[0]} is gone (run from the folder the run '
                               'was started in, or train it again with tools/train.py)')
        networks[title] = load_weights(experiment.task.build_network(cfg.model), path)
    for run_dir, meta in zip(map(Path, run_dirs), metas):
        title = _table_name(meta)
        title = title if title not in networks else f'{title} ({run_dir.name})'
        networks[title] = load_weights(experiment.task.build_network(cfg.model), run_dir / 'unlearned.pth')
    return experiment, networks
