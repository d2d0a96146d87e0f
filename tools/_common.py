"""What every entry point does the same way: read a config with overrides, report user errors in one line."""
import argparse
import csv
import io
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import unlearn  # noqa: F401  (first: it quiets what mmengine's import would print)
from mmengine.config import Config, DictAction

from unlearn.checkpoint import atomic_write
from unlearn.errors import UnlearnError, first_line


def config_parser(description: str, launcher: bool = True,
                  config_help: str = 'an experiment config, e.g. configs/cls/digits_forget_3.py'
                  ) -> argparse.ArgumentParser:
    """The arguments every config-driven tool takes: the config, overrides and (optionally) a launcher."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help=config_help)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, metavar='KEY=VALUE',
                        help='override config entries, e.g. schedule.max_epochs=5')
    if launcher:
        parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
        parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def refuse_overwrites(out: Optional[Path], plots: Optional[Path]) -> None:
    """An evaluation tool's --out file and --plots folder: new (or an empty folder), never overwritten."""
    if out and out.exists():
        raise UnlearnError(f'{out} exists; choose another --out (results are never overwritten)')
    if plots and plots.exists() and (not plots.is_dir() or any(plots.iterdir())):
        raise UnlearnError(f'{plots} exists and is not an empty folder; choose another --plots (figures are never '
                           'overwritten)')


def appending_outputs(out: Optional[Path], plots: Optional[Path], figure: str) -> Optional[Path]:
    """An analysis tool's --out CSV, which it appends to, and its ``figure`` in --plots, which is never overwritten:
    checked before any work. Returns the figure's path (None without --plots)."""
    path = plots / figure if plots else None
    if path and path.exists():
        raise UnlearnError(f'{path} exists; choose another --plots (figures are never overwritten)')
    if out and (out.is_dir() or not out.parent.is_dir()):
        raise UnlearnError(f'--out {out}: name a CSV file in an existing folder (rows are appended to it)')
    return path


def checked_csv_header(path: Path, fields, what: str) -> Optional[str]:
    """The text of the CSV ``path`` an --out appends to (None: a new file); it must have ``fields`` as its header,
    else it is some other table (``what`` names the expected one) and is refused."""
    if not path.exists():
        return None
    try:
        text = path.read_text()
        header = next(csv.reader(io.StringIO(text)), [])
    except (UnicodeDecodeError, csv.Error):
        header, text = None, ''
    if header != list(fields) or not text.endswith('\n'):
        raise UnlearnError(f'{path} is not {what} (its header differs); choose another --out')
    return text


def append_csv_rows(path: Path, rows: List[Dict[str, Any]], what: str) -> None:
    """Append ``rows`` (the same keys) to the CSV ``path`` (created with a header), replacing the file atomically,
    so an interrupted run leaves the table as it was."""
    text = checked_csv_header(path, rows[0], what)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator='\n')
    if text is None:
        writer.writeheader()
    writer.writerows({k: '' if v is None else v for k, v in row.items()} for row in rows)
    atomic_write(path, lambda f: f.write(((text or '') + buffer.getvalue()).encode()))


def load_config(path: str, options: dict, work_dir=None) -> Config:
    if not os.path.isfile(path):
        raise UnlearnError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path, import_custom_modules=False)  # imported by the config check, in one line
    except Exception as e:  # noqa: BLE001 - a broken config file is the user's to fix
        raise UnlearnError(f'cannot read config {path}: {first_line(e)}') from e
    if options:
        cfg.merge_from_dict(options)
    if work_dir:
        cfg.work_dir = work_dir
    return cfg


def run_cli(main) -> None:
    """Run ``main``; a user error prints one line 'error: ...' and exits with status 2."""
    try:
        main()
    except UnlearnError as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
