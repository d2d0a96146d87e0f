"""Generated datasets written to disk once: atomically, stamped with their settings, never silently mixed.

The embedded defaults (synthetic faces, synthetic VOC) draw their data on first use into a folder a library
reads as it reads real data. Written into a hidden temporary folder and renamed, a killed process never leaves a
half-written dataset; the settings are stamped inside, so a folder written with other settings is refused.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from .errors import UnlearnError


def write_once(root: Path, settings: dict, stamp_name: str, what: str, write: Callable[[Path], None]) -> Path:
    """``write(folder)`` fills a fresh folder that becomes ``root``, unless ``root`` already holds the dataset of
    ``settings`` (then nothing is written); return ``root``. ``what`` names the dataset in errors."""
    root = Path(root)
    stamp = root / stamp_name
    if stamp.is_file():
        if json.loads(stamp.read_text()) != settings:
            raise UnlearnError(f'{root} holds {what} made with {stamp.read_text().strip()}, not {settings}: delete '
                               'the folder or choose another root')
        return root
    if root.exists() and any(root.iterdir()):
        raise UnlearnError(f'{root} exists and is not {what}: choose another root')
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{root.name}.', dir=root.parent))
    try:
        write(staging)
        (staging / stamp_name).write_text(json.dumps(settings) + '\n')
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not stamp.is_file():  # unless another process finished first, with the same settings
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root
