"""Reading and checking a run's config: typos and wrong ``type=`` names fail early with one clear line."""
import difflib
import hashlib
import re
from typing import Any, Optional

from mmengine.config import Config
from mmengine.registry import Registry

from .errors import UnlearnError

#: Top-level keys a run config may have (anything else is almost surely a typo).
KNOWN_KEYS = {
    'task': 'the task adapter and its dataset',
    'model': 'the network (type=..., e.g. ResNet18)',
    'forget_classes': 'classes to forget, by name or index',
    'method': 'the unlearning method (type=DELETE, ...)',
    'schedule': 'the unlearning schedule (epochs, batch size, optimiser)',
    'train_schedule': 'the recipe of the original model and the retrain oracle',
    'original_checkpoint': 'your own original model (None: train once and cache)',
    'retrain_checkpoint': 'your own retrain oracle (None: train once and cache)',
    'checkpoint_dir': 'where trained original / oracle models are cached',
    'work_dir': 'where run folders are written',
    'seed': 'the unlearning seed',
}
REQUIRED_KEYS = ('task', 'model', 'forget_classes', 'method', 'schedule', 'train_schedule')


def check_config(cfg: Config) -> None:
    for key in cfg.keys():
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f'known keys: {sorted(KNOWN_KEYS)}'
            raise UnlearnError(f"unknown config key '{key}' ({hint})")
    missing = [k for k in REQUIRED_KEYS if k not in cfg]
    if missing:
        raise UnlearnError(f'config is missing {missing}; inherit them from configs/_base_ (see README)')


def build_from(registry: Registry, cfg: dict, what: str, default_args: Optional[dict] = None) -> Any:
    """``registry.build`` with the two usual mistakes (unknown type, wrong argument) said plainly."""
    cfg = dict(cfg)
    name = cfg.get('type')
    if name not in registry.module_dict:
        close = difflib.get_close_matches(str(name), registry.module_dict, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f'choose from {sorted(registry.module_dict)}'
        raise UnlearnError(f"unknown {what} type '{name}' ({hint})")
    try:
        return registry.build(cfg, default_args=default_args)
    except (TypeError, ValueError, FileNotFoundError) as e:
        # mmengine prefixes "class `X` in path: " at each nesting level; keep the user's part.
        message = re.sub(r'^(class `\w+` in [^:]+: )+', '', str(e).splitlines()[0])
        raise UnlearnError(f"{what} '{name}': {message}") from e


def config_hash(cfg: Config) -> str:
    return hashlib.sha256(cfg.pretty_text.encode()).hexdigest()
