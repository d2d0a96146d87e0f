"""A benchmark's grid: one run config expanded into cells (method x forget set x grid point x seed).

A benchmark config is an ordinary run config plus a top-level ``benchmark`` dict::

    _base_ = ['../cls/digits_forget_3.py']
    benchmark = dict(
        methods=['../_base_/methods/delete.py', dict(type='DELETE', alpha=0.5)],  # files or method dicts
        forget_sets=[['three'], ['three', 'eight']],   # default: [forget_classes]
        seeds=[2022, 2023, 2024],                      # default: [seed]
        grid={'schedule.optim_wrapper.optimizer.lr': [1e-3, 1e-2]},  # or a list of such dicts
    )

Each cell is the run config with the method replaced, the grid point merged (dotted keys, as
``--cfg-options``), and its own forget set, seed and work dir. A cell's folder name is readable and ends
with a hash of its whole config, so a rerun finds the cells it has already finished, and a changed
setting (a schedule, a method's default) makes new cells instead of reusing stale ones.
"""
import copy
import difflib
import hashlib
import inspect
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..apis import DEFAULT_SEED, build_method
from ..config import check_config, import_task_modules
from ..errors import UnlearnError
from ..precision import DEFAULTS as PRECISION_DEFAULTS
from ..registry import METHODS

SPEC_KEYS = {
    'methods': 'method config files (relative to the benchmark config) or method dicts, in table order',
    'forget_sets': 'lists of classes to forget, one column group each (default: [forget_classes])',
    'seeds': 'unlearning seeds, averaged in the tables (default: [seed])',
    'grid': '{dotted.key: [values]} (cross product), or a list of such dicts (their union)',
    'out_dir': 'where cells, results.csv and the tables go (default: work_dirs/benchmarks/<config name>)',
    'columns': "the tables' columns (default: the task evaluator's columns, 'time_s' and 'speedup')",
    'threads': 'torch intra-op threads for the cells (default: torch\'s); 1 is fastest for tiny models',
    'figures': "figures drawn from the results: 'seed_boxplot' (Fig. 2), 'forget_set_size' (Fig. 3), "
               "'sweep' (the metrics against each grid key, e.g. Table 5's alpha and T), 'methods_sweep' (each column "
               "against the one swept grid key, a line per method, e.g. the backdoor's trigger size)",
}
#: Keys that decide the original model and the oracle (``unlearn.training.model_key``): a grid over one of
#: them gets a table per value, since each value has its own Original and Retrain rows.
REFERENCE_KEYS = ('task', 'model', 'train_schedule', 'original_checkpoint', 'retrain_checkpoint')
#: Grid keys that have their own benchmark entry.
OWN_ENTRIES = dict(method='methods', forget_classes='forget_sets', seed='seeds')
#: Settings that never change a run's results, left out of a cell's hash (``custom_imports`` names the task's
#: package; the task itself is in the hash).
UNHASHED_KEYS = ('work_dir', 'checkpoint_dir', 'custom_imports')


@dataclass
class Cell:
    """One run of the grid.

    Attributes:
        key: the cell's folder name under ``<out_dir>/runs``: readable, ending with a hash of its config.
        config: the run config (``work_dir`` is the cell's folder).
        method: the method's name in the grid (its config file's stem, or its type).
        row: the table row: the method's ``table_name`` and what tells it apart (settings, grid values).
        section: the table it belongs to ('' unless the grid varies a reference-model key).
        forget_set: the column group (the class name, or 'N classes').
        forget_classes: the classes to forget, as the config gives them.
        seed: the unlearning seed.
        grid: the cell's value of every key the grid sets: its own point's, and its config's for the keys
            only other points set (so a sweep over one key can be read with the others at their defaults).
    """
    key: str
    config: Config
    method: str
    row: str
    section: str
    forget_set: str
    forget_classes: List[Any]
    seed: int
    grid: Dict[str, Any] = field(default_factory=dict)

    @property
    def work_dir(self) -> Path:
        return Path(self.config.work_dir)


def benchmark_spec(cfg: Config) -> dict:
    """The ``benchmark`` dict of ``cfg``, checked for unknown keys."""
    spec = cfg.get('benchmark')
    if not isinstance(spec, dict):
        raise UnlearnError("not a benchmark config: add a top-level benchmark = dict(methods=[...], ...) "
                           '(see configs/benchmarks/)')
    for key in spec:
        if key not in SPEC_KEYS:
            close = difflib.get_close_matches(key, SPEC_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f'known keys: {sorted(SPEC_KEYS)}'
            raise UnlearnError(f"unknown benchmark key '{key}' ({hint})")
    return dict(spec)


def default_out_dir(cfg: Config) -> Path:
    return Path('work_dirs') / 'benchmarks' / Path(cfg.filename or 'benchmark').stem


def grid_points(grid) -> List[Dict[str, Any]]:
    """Every point of a grid: the cross product of a dict's value lists, or the union over a list of dicts
    (as scikit-learn's ``ParameterGrid``), in the order given."""
    grids = grid if isinstance(grid, (list, tuple)) else [grid or {}]
    points = []
    for one in grids:
        if not isinstance(one, dict):
            raise UnlearnError(f'benchmark.grid: expected a dict of {{key: [values]}}, got {one!r}')
        for key, values in one.items():
            root = key.split('.')[0]
            if key in OWN_ENTRIES:
                raise UnlearnError(f"benchmark.grid: vary '{key}' with benchmark.{OWN_ENTRIES[key]} instead")
            if not isinstance(values, (list, tuple)) or not values:
                raise UnlearnError(f"benchmark.grid['{key}'] must be a non-empty list of values")
            if root == 'benchmark':
                raise UnlearnError('benchmark.grid cannot vary the benchmark itself')
        points += [dict(zip(one, combo)) for combo in itertools.product(*one.values())]
    return points


def _check_grid_key(settings: dict, key: str) -> None:
    """A grid key must name a setting the config has (``method.*`` keys are checked by building the method):
    a misspelt key would otherwise be merged in silently and change nothing."""
    node, parts = settings, key.split('.')
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            close = difflib.get_close_matches(part, list(node) if isinstance(node, dict) else [], n=1)
            hint = f"did you mean '{'.'.join(parts[:depth] + close)}'?" if close else \
                'give it a value in the config first'
            raise UnlearnError(f"benchmark.grid: '{key}' is not a setting of the config ({hint})")
        node = node[part]


def _load_method(entry, config_dir: Path) -> tuple:
    """``(name, method dict)`` of a methods entry: a method config file or a method dict."""
    if isinstance(entry, dict):
        if 'type' not in entry:
            raise UnlearnError(f'benchmark.methods: a method dict needs a type, got {entry!r}')
        return str(entry['type']), copy.deepcopy(dict(entry))
    path = Path(entry) if Path(entry).is_absolute() else config_dir / entry
    if not path.is_file():
        raise UnlearnError(f'benchmark.methods: no method config {path}')
    method = Config.fromfile(str(path)).get('method')
    if not isinstance(method, dict):
        raise UnlearnError(f'benchmark.methods: {path} defines no method = dict(type=...)')
    return path.stem, method.to_dict() if hasattr(method, 'to_dict') else dict(method)


def forget_set_labels(forget_sets: Sequence[Sequence]) -> List[str]:
    """Column-group names: the class for one class, 'N classes' for more (the paper's Table 4), or the
    classes themselves where two sets would get the same name."""
    labels = [str(fs[0]) if len(fs) == 1 else f'{len(fs)} classes' for fs in forget_sets]
    return [label if labels.count(label) == 1 else '+'.join(map(str, fs)) for label, fs in zip(labels, forget_sets)]


def _setting(key: str, value) -> str:
    return f'{key.split(".")[-1]}={value}'


def _with_defaults(method: dict) -> dict:
    """A method dict with the constructor's defaults filled in, so two entries compare by what they run."""
    METHODS.import_from_location()
    signature = inspect.signature(METHODS.get(method['type']).__init__)
    defaults = {k: p.default for k, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}
    return {**defaults, **method}


def _method_suffixes(methods: List[tuple], table_names: List[str]) -> List[List[str]]:
    """What tells a method entry apart from the first entry with the same table name (none for the first)."""
    suffixes = []
    for i, (name, method) in enumerate(methods):
        method = _with_defaults(method)
        first = _with_defaults(methods[table_names.index(table_names[i])][1])
        differ = [f'{k}={method.get(k)}' for k in sorted(set(method) | set(first)) if method.get(k) != first.get(k)]
        if i != table_names.index(table_names[i]) and not differ:
            raise UnlearnError(f"benchmark.methods: '{name}' repeats an earlier entry ({table_names[i]})")
        suffixes.append(differ)
    return suffixes


def _config_value(cfg: dict, dotted: str) -> Any:
    """The value at a dotted key of a config dict; None where the config does not set it."""
    value = cfg
    for part in dotted.split('.'):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _slug(text: str) -> str:
    return re.sub(r'[^A-Za-z0-9.=+_-]+', '_', text).strip('_')


def cell_hash(cfg: dict) -> str:
    """A hash of everything that decides a cell's result (``cfg``: the cell's config as a dict). A precision
    setting at its default is the run without it (``precision='fp32'`` finds the cells run before the key existed)."""
    settings = {k: v for k, v in cfg.items()
                if k not in UNHASHED_KEYS and not (k in PRECISION_DEFAULTS and v == PRECISION_DEFAULTS[k])}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _table_names(base: Config, methods: List[Tuple[str, dict]]) -> List[str]:
    """Each method's row name in the tables (its ``table_name``: "(R)" where it reads remaining data)."""
    names = []
    for name, method in methods:
        probe = copy.deepcopy(base)
        probe.method = method
        try:
            names.append(build_method(probe)[0].table_name)
        except UnlearnError as e:
            raise UnlearnError(f"benchmark.methods '{name}': {e}") from e
    return names


def expand_grid(cfg: Config, out_dir: Optional[Path] = None) -> List[Cell]:
    """The cells of the benchmark ``cfg``, forget set by forget set (so each oracle is trained once, first).

    Every cell's config is checked and its method built here: a bad entry fails before anything runs.
    """
    spec = benchmark_spec(cfg)
    out_dir = Path(out_dir or spec.get('out_dir') or default_out_dir(cfg))
    base = Config({k: v for k, v in cfg.to_dict().items() if k != 'benchmark'}, filename=cfg.filename)
    import_task_modules(base)  # a task's own methods (NCUnlearn) are registered by its package
    config_dir = Path(cfg.filename).resolve().parent if cfg.filename else Path.cwd()
    methods = [_load_method(entry, config_dir) for entry in spec.get('methods') or [base.method]]
    forget_sets = [list(fs) for fs in spec.get('forget_sets') or [base.forget_classes]]
    seeds = list(spec.get('seeds') or [base.get('seed', DEFAULT_SEED)])
    if len(set(seeds)) != len(seeds):
        raise UnlearnError(f'benchmark.seeds has repeats: {seeds}')
    points = grid_points(spec.get('grid'))
    for key in dict.fromkeys(k for p in points for k in p if not k.startswith('method.')):
        _check_grid_key(base.to_dict(), key)
    grid_keys = list(dict.fromkeys(k for p in points for k in p))
    varying = [k for k in grid_keys if len({json.dumps(p.get(k), sort_keys=True, default=str) for p in points}) > 1]

    table_names = _table_names(base, methods)
    suffixes = _method_suffixes(methods, table_names)

    cells = []
    for forget_classes, group in zip(forget_sets, forget_set_labels(forget_sets)):
        for (name, method), table_name, suffix in zip(methods, table_names, suffixes):
            for point in points:
                row_settings = [_setting(k, point[k]) for k in varying
                                if k in point and k.split('.')[0] not in REFERENCE_KEYS]
                section = ', '.join(f'{k}={point[k]}' for k in varying
                                    if k in point and k.split('.')[0] in REFERENCE_KEYS)
                settings = suffix + row_settings
                row = table_name + (f' [{", ".join(settings)}]' if settings else '')
                for seed in seeds:
                    cell_cfg = copy.deepcopy(base)
                    cell_cfg.method = copy.deepcopy(method)
                    cell_cfg.merge_from_dict(copy.deepcopy(point))
                    cell_cfg.forget_classes = list(forget_classes)
                    cell_cfg.seed = seed
                    try:
                        check_config(cell_cfg)
                        build_method(cell_cfg)
                    except UnlearnError as e:
                        raise UnlearnError(f'benchmark cell ({name}, {group}, {point}): {e}') from e
                    readable = '-'.join([name, group, f'seed{seed}', *(_setting(k, point[k]) for k in varying
                                                                        if k in point)])
                    values = cell_cfg.to_dict()
                    key = f'{_slug(readable)[:100]}-{cell_hash(values)}'
                    cell_cfg.work_dir = str(out_dir / 'runs' / key)
                    cells.append(Cell(key, cell_cfg, name, row, section, group, list(forget_classes), seed,
                                      {k: _config_value(values, k) for k in grid_keys}))
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise UnlearnError('benchmark: two cells have the same settings; remove the repeated entry')
    return cells
