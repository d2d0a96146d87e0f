"""Generated datasets are written once, atomically, and never mixed with other settings."""
import pytest

from unlearn.errors import UnlearnError
from unlearn.generated import write_once


def _writer(calls):
    def write(folder):
        calls.append(folder)
        (folder / 'a.txt').write_text('data\n')
    return write


def test_written_once_then_reused(tmp_path):
    calls = []
    root = write_once(tmp_path / 'set', dict(n=1), 'stamp.json', 'a test set', _writer(calls))
    assert (root / 'a.txt').read_text() == 'data\n' and len(calls) == 1
    write_once(tmp_path / 'set', dict(n=1), 'stamp.json', 'a test set', _writer(calls))
    assert len(calls) == 1, 'the second call reads what is there'
    assert [p.name for p in tmp_path.iterdir()] == ['set'], 'no staging folder is left behind'


def test_other_settings_and_foreign_folders_are_refused(tmp_path):
    write_once(tmp_path / 'set', dict(n=1), 'stamp.json', 'a test set', _writer([]))
    with pytest.raises(UnlearnError, match=r'holds a test set made with .*"n": 1.*, not \{.n.: 2\}: delete'):
        write_once(tmp_path / 'set', dict(n=2), 'stamp.json', 'a test set', _writer([]))
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'thesis.tex').write_text('keep me\n')
    with pytest.raises(UnlearnError, match='exists and is not a test set'):
        write_once(tmp_path / 'mine', dict(n=1), 'stamp.json', 'a test set', _writer([]))
    assert (tmp_path / 'mine' / 'thesis.tex').read_text() == 'keep me\n'


def test_a_failed_writer_leaves_nothing(tmp_path):
    def failing(folder):
        (folder / 'half.txt').write_text('half')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_once(tmp_path / 'set', dict(n=1), 'stamp.json', 'a test set', failing)
    assert not list(tmp_path.iterdir())
