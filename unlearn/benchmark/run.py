"""Running a benchmark's cells: resumable, with progress, one failed cell never stopping the grid.

    <out_dir>/runs/<cell key>/<run folder>/   one run of unlearn.apis.run_unlearning per cell (never deleted)
    <out_dir>/results.csv                      one row per cell: status, settings, every metric, wall times
    <out_dir>/table.md, table.tex              the paper's layout, mean ± std over seeds
    <out_dir>/benchmark.json, benchmark.log    the grid's cells and failures; the progress log
    <out_dir>/<figure>.png                     the figures benchmark.figures names (Fig. 2, Fig. 3, sweep)

A cell is finished when its folder holds a run with ``metrics.json`` (a run folder appears only when
complete), so rerunning the same command runs only what is missing or failed. The result files are
derived from the finished runs and rewritten each time; those of a different grid are moved to
``previous/`` first.

Cells finished elsewhere (another machine, an earlier checkout whose ``work_dirs`` is gone, another
benchmark) come in through their ``results.csv`` (``merge``): a cell is matched by the hash of its whole
config that ends its key, so only runs of the same settings are taken, whatever grid named them (Table 5's
alpha = 0 cell is Table 1's DELETE cell); they are not run again, and they count in the tables as if run
here. Runs of different original or oracle checkpoints are never averaged into one table.

Several processes may run the same benchmark at once (one per core or GPU): a process holds a lock on the
cell it runs, and the others skip that cell. The kernel drops the lock when its holder dies, so a killed
run never blocks its cell; the next process to take the cell removes the killed run's hidden ``.partial``
folder.
"""
import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

try:
    import fcntl
except ImportError:  # Windows: no flock; one process per benchmark folder there
    fcntl = None

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from ..apis import run_unlearning, unfinished_runs
from ..checkpoint import save_json, save_text
from ..config import build_evaluator, build_task
from ..errors import UnlearnError
from ..request import resolve_classes
from .figures import FIGURES, draw_figures, swept_keys
from .grid import Cell, benchmark_spec, default_out_dir, expand_grid
from .tables import EXTRA_TITLES, latex_tables, markdown_tables, read_results, results_csv

PathLike = Union[str, Path]
RESULT_FILES = ('results.csv', 'table.md', 'table.tex', 'benchmark.json', *(f'{name}.png' for name in FIGURES))


@dataclass
class BenchmarkResult:
    out_dir: Path
    cells: List[Cell]
    records: List[Dict[str, Any]]
    ran: int
    failures: Dict[str, str]


def finished_run(cell: Cell) -> Optional[Path]:
    """The newest complete run folder of ``cell``, if any (unfinished runs are hidden ``.partial`` folders)."""
    if not cell.work_dir.is_dir():
        return None
    runs = sorted(p for p in cell.work_dir.iterdir()
                  if p.is_dir() and not p.name.startswith('.') and (p / 'metrics.json').is_file())
    return runs[-1] if runs else None


@contextlib.contextmanager
def locked(folder: Path, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``folder`` (flock on the folder itself: no lock files to clean up).

    Yields whether the lock was taken; with ``wait=False`` it yields False at once if another process holds it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield True
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def cell_is_running(cell: Cell) -> bool:
    """Whether another process holds ``cell`` now."""
    if not cell.work_dir.is_dir():
        return False
    with locked(cell.work_dir, wait=False) as taken:
        return not taken


def remove_killed_runs(cell: Cell) -> List[Path]:
    """Delete the hidden ``.partial`` folders of runs that died; only call while holding the cell's lock."""
    stale = unfinished_runs(cell.work_dir)
    for path in stale:
        shutil.rmtree(path)
    return stale


def _train_times(checkpoint: dict, kind: str) -> Dict[str, Optional[float]]:
    """Wall and CPU time of training the cached ``kind`` model, from the sidecar JSON the cache writes beside it
    (``checkpoint``: its entry in meta.json's ``checkpoints``)."""
    info = _record(checkpoint['path'])
    pretrain = _record(info['pretrained_checkpoint']) if info.get('pretrained_checkpoint') else {}
    return {f'{kind}.train_s': _total(info, pretrain, 'train_wall_time_s'),
            f'{kind}.train_cpu_s': _total(info, pretrain, 'train_cpu_time_s'), f'{kind}.threads': info.get('torch_threads')}


def _record(checkpoint: str) -> dict:
    sidecar = Path(checkpoint).with_suffix('.json')
    return json.loads(sidecar.read_text()) if sidecar.is_file() else {}


def _total(info: dict, pretrain: dict, key: str) -> Optional[float]:
    """A model's training time with its pretraining stage's, if it was finetuned from one we trained: a speed-up
    against the oracle charges the oracle all of its training (SPEC.md §7.16: it pretrains again)."""
    if info.get(key) is None:
        return None
    return info[key] + (pretrain.get(key) or 0.0)


def _scalars(metrics: dict, prefix: str = '') -> Dict[str, Any]:
    """The numbers of a metrics dict, nested ones with dotted names (per-class accuracies left out)."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict) and not key.startswith('per_class') and key not in ('original', 'retrain'):
            flat.update(_scalars(value, f'{prefix}{key}.'))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[prefix + key] = float(value)
    return flat


def cell_record(cell: Cell, run_dir: Optional[Path], error: Optional[str] = None,
                merged: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """One results.csv row: the cell's settings and, if it finished, its metrics and wall times.

    ``merged`` is the cell's row of another results.csv: its results are taken when no run is here.
    """
    status = 'done' if run_dir or merged else 'failed' if error else \
        'running' if cell_is_running(cell) else 'pending'
    record = dict(cell=cell.key, status=status,
                  section=cell.section, row=cell.row, method=cell.method, forget_set=cell.forget_set,
                  forget_classes=' '.join(map(str, cell.forget_classes)), n_forget=len(cell.forget_classes),
                  seed=cell.seed, **cell.grid)
    if run_dir is None and merged:
        return dict(record, **{k: v for k, v in merged.items() if k not in record})
    if run_dir is None:
        return dict(record, error=error or '')
    metrics = json.loads((run_dir / 'metrics.json').read_text())
    meta = json.loads((run_dir / 'meta.json').read_text())
    record.update(_scalars(metrics))
    for kind in ('original', 'retrain'):
        checkpoint = meta['checkpoints'].get(kind)
        if checkpoint is None or metrics.get(kind) is None:  # a run without an oracle (retrain = None)
            continue
        record.update(_scalars(metrics[kind], f'{kind}.'))
        record[f'{kind}.sha256'] = checkpoint['sha256']
        record.update(_train_times(checkpoint, kind))
    request_s = meta['wall_time_s'].get('request_s', 0.0)  # e.g. the trigger recovery the forget set needed
    record.update(time_s=meta['wall_time_s']['unlearn_s'] + request_s, request_s=request_s,
                  cpu_s=meta.get('cpu_time_s', {}).get('unlearn_s'),
                  threads=meta.get('torch_threads'), run_dir=str(run_dir), error='')
    return record


def config_hash_of(cell_key: str) -> str:
    """The hash of a cell's whole config that ends its key (``grid.cell_hash``)."""
    return cell_key.rsplit('-', 1)[-1]


def merged_results(paths: List[PathLike]) -> Dict[str, Dict[str, Any]]:
    """The finished cells of other results.csv files, by config hash (the first file's row wins).

    A row that was itself merged keeps the file it first came from: that is where its run folder is named.
    """
    found = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise UnlearnError(f'merge: no results file {path} (give the results.csv a benchmark wrote)')
        rows = read_results(path)
        if rows and 'cell' not in rows[0]:
            raise UnlearnError(f'merge: {path} is not a benchmark results.csv (it has no "cell" column)')
        for row in rows:
            if row['status'] == 'done':
                origin = row.get('merged_from') or str(path)
                found.setdefault(config_hash_of(row['cell']), dict(row, error='', merged_from=origin))
    return found


def check_one_reference_model(records: List[Dict[str, Any]]) -> None:
    """Refuse to put runs of different original or oracle checkpoints in one table group.

    Their rows would average unlearning from different models and the Original / Retrain rows would
    average the models themselves; that happens when runs are merged from a machine whose cache trained
    its own original (float sums, hence weights, depend on the thread count).
    """
    groups: Dict[tuple, Dict[str, Dict[str, str]]] = {}
    for r in (r for r in records if r['status'] == 'done'):
        where = r.get('merged_from') or 'the runs here'
        for kind in ('original', 'retrain'):
            if r.get(f'{kind}.sha256'):  # none: a run without an oracle
                groups.setdefault((r['section'], r['forget_set'], kind), {}).setdefault(r[f'{kind}.sha256'], where)
    for (section, forget_set, kind), shas in groups.items():
        if len(shas) > 1:
            found = '; '.join(f'{sha[:12]} in {where}' for sha, where in shas.items())
            raise UnlearnError(f'forget set {forget_set}{" (" + section + ")" if section else ""}: runs of '
                               f'{len(shas)} different {kind} checkpoints ({found}); a table averages runs of one '
                               f'{kind} model: merge only results made with the same checkpoint (copy it into '
                               f'the checkpoint cache, or set {kind}_checkpoint)')


@contextlib.contextmanager
def torch_threads(threads: Optional[int]) -> Iterator[None]:
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def report_columns(cells: List[Cell]) -> Dict[str, str]:
    """The tables' metric columns, ``{key: title}``: the first cell's task evaluator's ``columns``. Building each
    task (and its evaluator) once also checks every forget set before any run."""
    evaluators = {}
    for cell in cells:
        key = json.dumps([cell.config.get(k) for k in ('task', 'evaluator', 'custom_imports')], sort_keys=True,
                         default=str)
        if key not in evaluators:
            task = build_task(cell.config)
            evaluators[key] = task, build_evaluator(cell.config, task)
        resolve_classes(evaluators[key][0].class_names, cell.forget_classes)
    return dict(next(iter(evaluators.values()))[1].columns) if evaluators else {}


def table_columns(spec: dict, cells: List[Cell]) -> Tuple[Dict[str, str], Dict[str, str]]:
    """``(columns, titles)``: the tables' columns ``{key: title}`` (``benchmark.columns``, or the evaluator's
    then the benchmark's own ``time_s`` and ``speedup``), and every title known (the evaluator's and the
    benchmark's, for the figures); a key nobody titles is its own title."""
    evaluated = report_columns(cells)
    titles = {**EXTRA_TITLES, **evaluated}
    keys = dict.fromkeys(spec.get('columns') or [*evaluated, *EXTRA_TITLES])
    return {key: titles.get(key, key) for key in keys}, titles


def _title(cfg: Config) -> str:
    return Path(cfg.filename).stem if cfg.filename else 'benchmark'


def _keep_previous(out_dir: Path, grid_id: str) -> None:
    """Move the result files of a different grid to ``previous/<their grid id>/`` before writing ours."""
    index = out_dir / 'benchmark.json'
    if not index.is_file():
        return
    old_id = json.loads(index.read_text()).get('grid_id')
    if old_id == grid_id:
        return
    keep = out_dir / 'previous' / f'{time.strftime("%Y%m%d_%H%M%S")}_{old_id}'
    keep.mkdir(parents=True)
    for name in RESULT_FILES:
        if (out_dir / name).is_file():
            shutil.move(str(out_dir / name), str(keep / name))


def write_results(out_dir: Path, cfg: Config, cells: List[Cell], records: List[Dict[str, Any]],
                  columns: Dict[str, str], failures: Dict[str, str], titles: Optional[Dict[str, str]] = None
                  ) -> None:
    """results.csv, table.md, table.tex and benchmark.json, from every cell's record; ``columns``: the tables'
    ``{key: title}``. benchmark.json keeps the columns and the ``titles`` (metric key -> title), for the figures
    drawn from results.csv later (tools/analysis/plot_results.py)."""
    grid_id = hashlib.sha256(json.dumps(sorted(c.key for c in cells)).encode()).hexdigest()[:12]
    with locked(out_dir):  # processes sharing the folder write one after the other
        _keep_previous(out_dir, grid_id)
        save_text(results_csv(records), out_dir / 'results.csv')
        save_text(markdown_tables(records, columns, _title(cfg)), out_dir / 'table.md')
        save_text(latex_tables(records, columns, _title(cfg)), out_dir / 'table.tex')
        save_json(dict(grid_id=grid_id, config=cfg.filename, cells=[c.key for c in cells], columns=list(columns),
                       titles={**columns, **(titles or {})}, failures=failures), out_dir / 'benchmark.json')


def run_cell(cell: Cell, progress: str, logger: MMLogger, failures: Dict[str, str]) -> Optional[float]:
    """Run ``cell`` unless another process is running or has finished it; return its wall time (None: not run,
    or failed, recorded in ``failures`` for the next invocation to retry)."""
    with locked(cell.work_dir, wait=False) as taken:
        if not taken:
            logger.info(f'{progress}: another process is running it, skipped')
            return None
        done = finished_run(cell)
        if done is not None:
            logger.info(f'{progress}: finished by another process ({done}), skipped')
            return None
        for stale in remove_killed_runs(cell):
            logger.info(f'{progress}: removed {stale}, left by a run that was killed')
        logger.info(f'{progress}: running {cell.row} on {cell.forget_set}, seed {cell.seed}')
        started = time.time()
        try:
            run_dir = run_unlearning(cell.config)
        except Exception as e:  # noqa: BLE001 - one cell's failure is recorded, the grid goes on
            failures[cell.key] = f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
            logger.error(f'{progress}: FAILED ({failures[cell.key]}); it will be retried by the next run')
            return None
    duration = time.time() - started
    logger.info(f'{progress}: done in {duration:.1f} s ({run_dir})')
    return duration


def checked_figures(spec: dict, cells: List[Cell]) -> List[str]:
    """``benchmark.figures``, each known, and those drawn against a grid key only where the grid varies one."""
    figures = list(spec.get('figures') or [])
    if set(figures) - set(FIGURES):
        raise UnlearnError(f'benchmark.figures: unknown {sorted(set(figures) - set(FIGURES))}; choose from {FIGURES}')
    drawn_against_keys = sorted({'sweep', 'methods_sweep'} & set(figures))
    if drawn_against_keys and not swept_keys([c.grid for c in cells], list(cells[0].grid) if cells else []):
        raise UnlearnError(f'benchmark.figures: {drawn_against_keys} plot the metrics against a grid key, and this '
                           'grid varies none: drop them or set benchmark.grid')
    return figures


def run_benchmark(cfg: Config, out_dir: Optional[Path] = None, dry_run: bool = False,
                  results_only: bool = False, merge: Sequence[PathLike] = ()) -> BenchmarkResult:
    """Run every unfinished cell of the benchmark ``cfg``, then write the results from all finished cells.

    The grid is expanded and checked (configs, methods, forget sets) before the first cell runs; a cell that
    fails later is logged, recorded in results.csv and benchmark.json, and retried by the next invocation.
    A cell another process is running is skipped. ``results_only`` runs nothing and writes the results of
    the cells finished so far (the others are empty rows, counted in the table's note). ``merge`` names
    results.csv files whose finished cells count as finished here (see the module's docstring).
    """
    spec = benchmark_spec(cfg)
    out_dir = Path(out_dir or spec.get('out_dir') or default_out_dir(cfg))
    cells = expand_grid(cfg, out_dir)
    columns, titles = table_columns(spec, cells)
    figures = checked_figures(spec, cells)
    found = merged_results(list(merge))
    merged = {c.key: found[config_hash_of(c.key)] for c in cells if config_hash_of(c.key) in found}
    finished = {c.key: finished_run(c) for c in cells}  # once: each call lists the cell's folder
    pending = [c.key for c in cells if finished[c.key] is None and c.key not in merged]
    before = [cell_record(c, finished[c.key], merged=merged.get(c.key)) for c in cells]
    check_one_reference_model(before)
    if dry_run:
        return BenchmarkResult(out_dir, cells, before, 0, {})

    out_dir.mkdir(parents=True, exist_ok=True)
    logger = MMLogger.get_instance(f'unlearn-benchmark-{out_dir.resolve()}-{time.time_ns()}',
                                   logger_name='unlearn', log_file=str(out_dir / 'benchmark.log'), file_mode='a')
    logger.info(f'Benchmark {cfg.filename}: {len(cells)} cells, {len(cells) - len(pending)} already finished'
                + (f' ({sum(c.key in merged for c in cells)} of them merged from {", ".join(map(str, merge))})'
                   if merged else '') +
                f', {len(pending)} ' + ('not run (results only)' if results_only else 'to run') +
                f'; results in {out_dir}')
    failures, durations = {}, []
    with torch_threads(spec.get('threads')):
        for i, cell in enumerate(cells, 1):
            progress = f'cell {i}/{len(cells)} {cell.key}'
            if cell.key not in pending:
                where = finished[cell.key] or merged[cell.key]['merged_from']
                logger.info(f'{progress}: finished before ({where}), skipped')
            elif not results_only:
                duration = run_cell(cell, progress, logger, failures)
                if duration is not None:
                    durations.append(duration)
                    left = len(pending) - pending.index(cell.key) - 1
                    logger.info(f'{progress}: about {left * sum(durations) / len(durations) / 60:.1f} min left')
    records = [cell_record(c, finished_run(c), failures.get(c.key), merged.get(c.key)) for c in cells]
    write_results(out_dir, cfg, cells, records, columns, failures, titles)
    draw_figures(records, figures, out_dir, title=_title(cfg), grid_keys=list(cells[0].grid) if cells else [],
                 titles=titles, metrics=[key for key in columns if key not in EXTRA_TITLES])
    if failures:
        logger.error(f'{len(failures)} of {len(cells)} cells failed: {sorted(failures)}')
    for handler in logger.handlers:
        handler.close()
    check_one_reference_model(records)  # after writing: hours of runs are kept even if the cache changed meanwhile
    return BenchmarkResult(out_dir, cells, records, len(durations) + len(failures), failures)
