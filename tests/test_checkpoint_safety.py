"""No code runs from a checkpoint; every unreadable or untrusted checkpoint is one clear line; outputs follow the
umask; the checkpoint cache is used only when it matches its records."""
import io
import json
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from unlearn.checkpoint import load_state_dict, save_json, save_state_dict, save_text, sha256_file
from unlearn.errors import UnlearnError, first_line

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'
MAGIC_NUMBER = 0x1950a86a20f9469cfc6c  # torch's legacy header starts with this pickle


class _TouchMarker:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


class _OpenMarker(_TouchMarker):
    """Unpickling this creates the marker file through ``open``."""

    def __reduce__(self):
        return open, (str(self.marker), 'w')


def _digits_state() -> dict:
    from tasks.classification.models import DigitsCNN
    return DigitsCNN(num_classes=10).state_dict()


def _plain_pickle(path: Path, marker: Path, payload=_TouchMarker) -> Path:
    path.write_bytes(pickle.dumps(payload(marker)))
    return path


def _legacy_with_header(path: Path, prefix: bytes) -> Path:
    """A real DigitsCNN state_dict in torch's legacy format whose first pickle (the magic number) first runs the
    pickle ``prefix`` and discards its result, so the rest of the file loads as usual."""
    buffer = io.BytesIO()
    torch.save(_digits_state(), buffer, _use_new_zipfile_serialization=False)
    legacy = buffer.getvalue()
    header = pickle.dumps(MAGIC_NUMBER, protocol=2)
    assert legacy.startswith(header)
    assert prefix.startswith(pickle.PROTO) and prefix.endswith(pickle.STOP)
    path.write_bytes(prefix[:-1] + pickle.POP + header[2:] + legacy[len(header):])
    return path


def _legacy_with_payload_in_header(path: Path, marker: Path) -> Path:
    return _legacy_with_header(path, pickle.dumps(_TouchMarker(marker), protocol=2))


def _zip_with_payload(path: Path, marker: Path) -> Path:
    torch.save({'state_dict': _digits_state(), 'meta': _TouchMarker(marker)}, path)
    return path


def _tar_with_payload(path: Path, marker: Path) -> Path:
    """torch's pre-0.4 .tar format, every member a payload."""
    with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as tar:
        for name in ('storages', 'tensors', 'pickle'):
            data = pickle.dumps(_TouchMarker(marker), protocol=2)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


CRAFTED = {
    'plain pickle, os.system': _plain_pickle,
    'plain pickle, open': lambda path, marker: _plain_pickle(path, marker, _OpenMarker),
    'legacy DigitsCNN, payload in the header': _legacy_with_payload_in_header,
    'zip DigitsCNN checkpoint, payload in the body': _zip_with_payload,
    'legacy .tar format': _tar_with_payload,
}


def test_the_crafted_legacy_file_is_a_working_exploit_for_plain_torch(tmp_path):
    """Guards the test itself: the crafted header really runs its payload when unpickled by plain pickle."""
    marker = tmp_path / 'MARKER'
    crafted = _legacy_with_payload_in_header(tmp_path / 'crafted.pth', marker)
    with open(crafted, 'rb') as f:
        assert pickle.load(f) == MAGIC_NUMBER
    assert marker.exists()


@pytest.mark.parametrize('kind', CRAFTED)
def test_a_crafted_checkpoint_runs_no_code_and_fails_in_one_line(tmp_path, kind):
    marker = tmp_path / 'MARKER'
    crafted = CRAFTED[kind](tmp_path / 'crafted.pth', marker)
    with pytest.raises(UnlearnError) as caught:
        load_state_dict(crafted)
    assert not marker.exists(), 'loading the checkpoint ran code from it'
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and str(crafted) in message
    if kind != 'legacy .tar format':
        assert 'could run code' in message and 'source you trust' in message, message


def test_a_checkpoint_cannot_change_the_classes_it_may_name(tmp_path):
    """BUILD on an allowed class (here collections.Counter) would patch it for the rest of the process."""
    import collections
    patch_counter = (pickle.PROTO + b'\x02' + pickle.GLOBAL + b'collections\nCounter\n' + pickle.NONE +
                     pickle.EMPTY_DICT + pickle.BINUNICODE + (11).to_bytes(4, 'little') + b'most_common' +
                     pickle.BININT1 + b'\x01' + pickle.SETITEM + pickle.TUPLE2 + pickle.BUILD + pickle.STOP)
    (tmp_path / 'plain.pkl').write_bytes(patch_counter)
    for path in (tmp_path / 'plain.pkl', _legacy_with_header(tmp_path / 'legacy.pth', patch_counter)):
        with pytest.raises(UnlearnError, match='it sets attributes of collections.Counter, which a checkpoint'):
            load_state_dict(path)
        assert callable(collections.Counter.most_common)


@pytest.mark.parametrize('kind', ['plain pickle, os.system', 'legacy DigitsCNN, payload in the header'])
def test_tools_test_refuses_a_crafted_checkpoint_in_one_line(tmp_path, kind):
    marker = tmp_path / 'MARKER'
    crafted = CRAFTED[kind](tmp_path / 'CRAFTED.pth', marker)
    status, _, err = run_tool('test.py', CONFIG, crafted, '--cfg-options', f'checkpoint_dir={tmp_path / "cache"}')
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith('error: ') and 'could run code' in err, err
    assert not marker.exists()


def test_original_checkpoint_refuses_a_crafted_file_before_anything_is_written(tmp_path):
    marker = tmp_path / 'MARKER'
    crafted = _legacy_with_payload_in_header(tmp_path / 'crafted.pth', marker)
    status, _, err = run_tool('unlearn.py', CONFIG, '--work-dir', tmp_path / 'runs', '--cfg-options',
                              f'checkpoint_dir={tmp_path / "cache"}', f'original_checkpoint={crafted}')
    assert status == 2 and len(err.splitlines()) == 1 and 'could run code' in err, err
    assert not marker.exists()
    assert not (tmp_path / 'runs').exists() and not (tmp_path / 'cache').exists()


def test_a_plain_legacy_checkpoint_still_loads(tmp_path):
    state = _digits_state()
    torch.save(state, tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    loaded = load_state_dict(tmp_path / 'legacy.pth')
    assert list(loaded) == list(state) and all(torch.equal(loaded[k], state[k]) for k in state)


@pytest.mark.parametrize('zipped', [True, False])
def test_an_mmengine_checkpoint_still_loads(tmp_path, zipped):
    """What mmengine's CheckpointHook writes: message_hub with HistoryBuffers, numpy values in meta."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance(f'checkpoint-safety-{zipped}')
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('best_score', np.float64(0.9))
    state = {f'network.{k}': v for k, v in _digits_state().items()}
    checkpoint = dict(meta=dict(seed=np.int64(3), dtype=np.dtype('float32'), hist=np.arange(4), epoch=2),
                      state_dict=state, message_hub=hub.state_dict())
    torch.save(checkpoint, tmp_path / 'epoch_2.pth', _use_new_zipfile_serialization=zipped)
    loaded = load_state_dict(tmp_path / 'epoch_2.pth')
    assert list(loaded) == list(state) and all(torch.equal(loaded[k], state[k]) for k in state)


def _truncated(path: Path) -> Path:
    buffer = io.BytesIO()
    torch.save(_digits_state(), buffer)
    path.write_bytes(buffer.getvalue()[:len(buffer.getvalue()) // 2])
    return path


def _truncated_legacy(path: Path) -> Path:
    buffer = io.BytesIO()
    torch.save(_digits_state(), buffer, _use_new_zipfile_serialization=False)
    path.write_bytes(buffer.getvalue()[:len(buffer.getvalue()) // 2])
    return path


def _holding(data: bytes):
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return make


def _torchscript(path: Path) -> Path:
    torch.jit.script(torch.nn.Linear(3, 2)).save(str(path))
    return path


@pytest.mark.parametrize('make, says', [
    (_holding(b''), 'is empty (0 bytes)'),
    (_truncated, 'is a damaged PyTorch zip archive (truncated or corrupt'),
    (_truncated_legacy, 'is not a PyTorch checkpoint, or only part of one'),
    (_holding(b'hello\nthis is not a checkpoint\n'), 'is not a PyTorch checkpoint, or only part of one'),
    (_holding(pickle.dumps([1, 2, 3])), 'is not a PyTorch checkpoint, or only part of one'),
    (_torchscript, 'is a TorchScript archive'),
], ids=['empty', 'truncated', 'truncated legacy', 'text', 'plain pickle of a list', 'TorchScript'])
def test_an_unreadable_checkpoint_is_one_line_that_says_what_it_is(tmp_path, make, says):
    path = make(tmp_path / 'model.pth')
    with pytest.raises(UnlearnError) as caught:
        load_state_dict(path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and says in message and str(path) in message, message
    assert 'torch.save(model.state_dict(), path)' in message


def test_a_checkpoint_that_cannot_be_read(tmp_path, monkeypatch):
    """Root reads any file, so the refusal is simulated where torch opens it."""
    path = _holding(b'weights')(tmp_path / 'model.pth')

    def refuse(*args, **kwargs):
        raise PermissionError(13, 'Permission denied', str(path))

    monkeypatch.setattr(torch, 'load', refuse)
    with pytest.raises(UnlearnError, match=f'^cannot read checkpoint {path}: .*Permission denied.*; check that it is '):
        load_state_dict(path)


def test_tools_test_on_an_empty_checkpoint(tmp_path):
    (tmp_path / 'empty.pth').write_bytes(b'')
    status, _, err = run_tool('test.py', CONFIG, tmp_path / 'empty.pth', '--cfg-options',
                              f'checkpoint_dir={tmp_path / "cache"}')
    assert status == 2 and err == f'error: checkpoint {tmp_path / "empty.pth"} is empty (0 bytes); save the ' \
        'weights again with torch.save(model.state_dict(), path) or point the config at another file\n'


def test_first_line_never_is_empty():
    assert first_line(EOFError()) == 'EOFError (the file is empty or truncated)'
    assert first_line(AssertionError()) == 'AssertionError (an assert statement failed)'
    assert first_line(RuntimeError('\n  \n')) == 'RuntimeError (raised without a message)'
    assert first_line(ValueError('\n  bad value  \nmore detail')) == 'bad value'


def test_a_config_that_raises_without_a_message_is_one_line(tmp_path):
    config = tmp_path / 'broken.py'
    config.write_text('assert False\n')
    status, _, err = run_tool('unlearn.py', config)
    assert status == 2
    assert err == f'error: cannot read config {config}: AssertionError (an assert statement failed)\n'


@pytest.mark.parametrize('umask', [0o022, 0o027, 0o002])
def test_outputs_get_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        save_text('x', tmp_path / 'report.md')
        save_json({}, tmp_path / 'metrics.json')
        save_state_dict({'w': torch.zeros(1)}, tmp_path / 'unlearned.pth')
    finally:
        os.umask(old)
    for name in ('report.md', 'metrics.json', 'unlearned.pth'):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


# The checkpoint cache


def _cache_with_original(tmp_path):
    """A digits config whose cache holds an 'original' model and its record, as obtain_model writes them."""
    from unlearn.apis import load_experiment
    from unlearn.training import cached_model_path
    cfg = Config.fromfile(str(CONFIG))
    cfg.checkpoint_dir = str(tmp_path / 'cache')
    request = load_experiment(cfg)
    path = cached_model_path('original', cfg, request.task, request.request)
    sha = save_state_dict(_digits_state(), path)
    save_json(dict(kind='original', sha256=sha), path.with_suffix('.json'))
    return cfg, request, path


def test_the_cache_is_verified_before_anything_is_trained(tmp_path):
    from unlearn.training import check_reference_cache, verify_cached_model
    cfg, request, path = _cache_with_original(tmp_path)
    check_reference_cache(cfg, request.task, request.request, ('original', 'retrain'))  # intact: passes
    assert verify_cached_model(path) == sha256_file(path)

    recorded = json.loads(path.with_suffix('.json').read_text())['sha256']
    torch.save(_digits_state(), path)  # swapped for other weights
    with pytest.raises(UnlearnError) as caught:
        check_reference_cache(cfg, request.task, request.request, ('original', 'retrain'))
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and str(path) in message
    assert recorded[:12] in message and sha256_file(path)[:12] in message
    assert 'restore the original file' in message and 'to train it again' in message

    cfg.original_checkpoint = str(path)  # the user's own file is not the cache's to verify
    check_reference_cache(cfg, request.task, request.request, ('original', 'retrain'))


def test_a_cached_model_without_its_record_is_refused(tmp_path):
    from unlearn.training import check_reference_cache
    cfg, request, path = _cache_with_original(tmp_path)
    path.with_suffix('.json').unlink()
    with pytest.raises(UnlearnError, match='has no record .* to verify it against; delete it to train it again'):
        check_reference_cache(cfg, request.task, request.request, ('original', 'retrain'))


def test_tools_train_refuses_a_swapped_cache_file(tmp_path):
    _, _, path = _cache_with_original(tmp_path)
    torch.save(_digits_state(), path)
    status, out, err = run_tool('train.py', CONFIG, '--work-dir', tmp_path / 'cache')
    assert status == 2 and len(err.splitlines()) == 1 and err.startswith('error: cached model'), err
    assert sorted(p.name for p in path.parent.iterdir()) == [path.with_suffix('.json').name, path.name]
