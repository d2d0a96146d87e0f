"""What every entry point does the same way: read a config with overrides, report user errors in one line."""
import os
import sys

# albumentations asks the internet for updates on import; never do that from a run.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

from mmengine.config import Config, DictAction  # noqa: E402,F401  (DictAction: for the tools' parsers)

from unlearn.errors import UnlearnError  # noqa: E402


def load_config(path: str, options: dict, work_dir=None) -> Config:
    if not os.path.isfile(path):
        raise UnlearnError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # noqa: BLE001 - a broken config file is the user's to fix
        raise UnlearnError(f'cannot read config {path}: {str(e).splitlines()[0]}') from e
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
