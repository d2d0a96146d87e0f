"""The core's layering: tasks are plug-ins the core never imports, and a task's dependencies load only for it."""
import ast
import json
import subprocess
import sys
import textwrap

from conftest import REPO

DIGITS = REPO / 'configs' / 'cls' / 'digits_forget_3.py'
SEGMENTATION = REPO / 'configs' / 'seg' / 'synthetic_forget_dog.py'


def _imported_modules(path) -> set:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_imports_no_task():
    offenders = {str(path.relative_to(REPO)): sorted(m for m in _imported_modules(path)
                                                     if m == 'tasks' or m.startswith('tasks.'))
                 for path in (REPO / 'unlearn').rglob('*.py')}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_core_names_no_task_in_strings():
    """Not through a registry's ``locations`` or an ``importlib`` call either."""
    for path in (REPO / 'unlearn').rglob('*.py'):
        strings = [n.value for n in ast.walk(ast.parse(path.read_text()))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert not [s for s in strings if s.startswith('tasks.') and ' ' not in s], path


def _python(code: str) -> subprocess.CompletedProcess:
    """A fresh interpreter in the repository: what a run imports is decided by that process alone."""
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_a_digits_run_imports_no_mmseg(tmp_path, digits_cache):
    result = _python(f"""
        import json, sys
        sys.path.insert(0, {str(REPO)!r})
        from tools._common import load_config
        from unlearn.apis import run_unlearning
        cfg = load_config({str(DIGITS)!r}, {{'checkpoint_dir': {str(digits_cache)!r}, 'schedule.max_epochs': 1}},
                          {str(tmp_path)!r})
        run_dir = run_unlearning(cfg)
        loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('mmseg', 'mmcv', 'tasks'))
        print(json.dumps(dict(run=str(run_dir), loaded=loaded)))
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (tmp_path / report['run'] / 'metrics.json').is_file()
    assert not [m for m in report['loaded'] if m.split('.')[0] == 'mmseg' or m.startswith('tasks.segmentation')]
    # mmengine's Runner probes for a full mmcv (``mmcv_full_available``); the segmentation shim stays out.
    assert 'mmcv._ext' not in report['loaded'] and 'tasks.classification' in report['loaded']


BLOCK_MMSEG = "import sys; sys.modules['mmseg'] = None  # as if mmsegmentation were not installed\n"


def test_a_missing_task_dependency_fails_its_own_configs_in_one_line():
    result = _python(BLOCK_MMSEG + f"""
import runpy
sys.argv = ['unlearn.py', {str(SEGMENTATION)!r}]
runpy.run_path({str(REPO / 'tools' / 'unlearn.py')!r}, run_name='__main__')
""")
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: custom_imports: cannot import tasks.segmentation: '), lines
    assert 'mmsegmentation' in lines[0] and 'pip install' in lines[0]


def test_a_missing_task_dependency_leaves_other_tasks_alone():
    result = _python(BLOCK_MMSEG + f"""
sys.path.insert(0, {str(REPO)!r})
from tools._common import load_config
from unlearn.apis import load_experiment
experiment = load_experiment(load_config({str(DIGITS)!r}, {{}}))
print(len(experiment.request.train_forget))
""")
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) > 0


def test_a_config_without_its_task_package_says_how_to_import_it(tmp_path):
    import pytest
    from mmengine.config import Config

    from unlearn.config import check_config
    from unlearn.errors import UnlearnError
    cfg = Config.fromfile(str(DIGITS), import_custom_modules=False)
    cfg.merge_from_dict(dict(task=dict(type='AudioCaptioning')))
    with pytest.raises(UnlearnError, match=r"unknown task type 'AudioCaptioning' \(imported tasks: .*\): import the "
                                           r"task's package with custom_imports"):
        check_config(cfg)


def _function_lengths():
    for path in (REPO / 'unlearn').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f'{path.relative_to(REPO)}:{node.name}', node.end_lineno - node.lineno + 1


def test_functions_stay_short_enough_to_read():
    lengths = dict(_function_lengths())
    assert lengths['unlearn/apis/run.py:run_unlearning'] <= 40
    assert not {name: n for name, n in lengths.items() if n > 60}


def test_the_task_adapter_stays_narrow():
    from unlearn.adapter import TaskAdapter
    members = [name for name in vars(TaskAdapter) if not name.startswith('_')]
    assert len([m for m in members if callable(getattr(TaskAdapter, m))]) <= 11, members
