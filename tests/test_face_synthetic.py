"""The face default end to end (pretraining stage, original, oracle, DELETE, face metrics) and the pretraining
stage's defining properties: one pretrained file shared by the original and the oracle, a fresh K-wide head,
an oracle that never sees the forgotten face, and a user's pretrained file that skips the stage."""
import json
import shutil

import pytest
import torch
from torch import nn

from conftest import REPO, run_tool

CONFIG = REPO / 'configs' / 'face' / 'synthetic_forget_id03.py'
FORGET = 'person_03'


def _options(root, *more) -> list:
    return ['--cfg-options', f'checkpoint_dir={root / "ckpt"}', f'task.dataset.root={root / "faces"}', *more]


def _default_options(root) -> list:
    """The config's own data folder (``data/synthetic_faces``, relative: the test runs in ``root``), so the
    evaluation seeds, which follow the dataset config, are the README command's."""
    return ['--cfg-options', f'checkpoint_dir={root / "ckpt"}']


@pytest.fixture(scope='module')
def face_run(tmp_path_factory):
    """``tools/unlearn.py configs/face/synthetic_forget_id03.py`` on an empty cache, every training recorded."""
    import unlearn.training
    root = tmp_path_factory.mktemp('face')
    trained = []
    train = unlearn.training.train_supervised

    def recording(task, evaluator, network, data, schedule, log_file, launcher='none'):
        trained.append((log_file.stem.split('-')[0], network.fc.out_features, _labels(data.train)))
        return train(task, evaluator, network, data, schedule, log_file, launcher)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(unlearn.training, 'train_supervised', recording)
        patch.chdir(root)
        status, stdout, err = run_tool('unlearn.py', CONFIG, '--work-dir', root / 'runs', *_default_options(root))
    assert status == 0, err
    [run_dir] = (root / 'runs').iterdir()
    return root, run_dir, stdout, trained


def _labels(dataset) -> set:
    """The classes a dataset serves, through subsets (read from its targets, no image decoded)."""
    if isinstance(dataset, torch.utils.data.Subset):
        return {dataset.dataset.targets[i] for i in dataset.indices}
    return set(dataset.targets)


def _metrics(run_dir) -> dict:
    return json.loads((run_dir / 'metrics.json').read_text())


def test_the_stage_is_trained_once_and_both_reference_models_start_from_it(face_run):
    root, run_dir, _, trained = face_run
    assert [kind for kind, _, _ in trained] == ['pretrain', 'original', 'retrain']
    [pretrained] = (root / 'ckpt').glob('pretrain-*.pth')
    sha = json.loads(pretrained.with_suffix('.json').read_text())['sha256']
    for kind in ('original', 'retrain'):
        [record] = [p for p in (root / 'ckpt').glob(f'{kind}-*.json') if '.metrics-' not in p.name]
        assert json.loads(record.read_text())['pretrained'] == sha


def test_the_stage_trains_on_other_identities_and_the_heads_are_fresh_and_k_wide(face_run):
    _, _, _, trained = face_run
    (_, pretrain_width, pretrain_labels), (_, width, original_labels), (_, oracle_width, oracle_labels) = trained
    assert pretrain_width == 6 and pretrain_labels == set(range(6)), 'the six pretraining identities'
    assert width == oracle_width == 10 and original_labels == set(range(10))
    assert oracle_labels == set(range(10)) - {3}, f'the oracle never sees {FORGET}'


#: How far below the lowest remaining-identity accuracy of the committed originals (README) a rerun may land: another
#: CPU or thread count trains another original, the spread over six is already 40 points wide, and six draws do not
#: show its floor. Chance is 10%: a DELETE that stops keeping the others still fails.
BELOW_THE_SPREAD = 20.0


def test_delete_forgets_the_identity_and_keeps_most_of_the_others(face_run):
    """What holds on every original (README, configs/benchmarks/synthetic_face_originals.py): the face is forgotten
    and unverified; how much of the others is kept varies with the original, within the committed spread."""
    from test_results_docs import synthetic_face_spread
    _, run_dir, stdout, _ = face_run
    m = _metrics(run_dir)
    original, oracle = m['original'], m['retrain']
    assert original['acc_ft'] >= 80 and original['tar_f'] >= 80, 'the original must know the face first'
    assert oracle['acc_ft'] == 0 and oracle['tar_f'] <= 5
    assert m['acc_ft'] <= 5 and m['acc_f'] <= 5
    assert m['tar_f'] < original['tar_f'], 'fewer genuine claims of the forgotten face pass (not always none: README)'
    assert m['acc_rt'] >= synthetic_face_spread('frozen')['min'] - BELOW_THE_SPREAD, 'below every committed original'
    assert m['tau'] == original['tau'], "every model is verified at the original's operating point"
    assert '| DELETE |' in stdout and 'TAR_f' in stdout


def test_the_docs_state_the_margin():
    for doc in (REPO / 'README.md', REPO / 'docs' / 'results.md'):
        assert f'{BELOW_THE_SPREAD:.0f} points below' in ' '.join(doc.read_text().split()), doc


def test_the_run_folder_holds_the_face_figures(face_run):
    _, run_dir, _, _ = face_run
    for name in ('plots/gradcam.png', 'plots/verification_roc.png', 'plots/curves.png'):
        assert (run_dir / name).stat().st_size > 0, name


def test_a_users_pretrained_file_skips_the_stage(face_run, tmp_path):
    root, _, _, _ = face_run
    [pretrained] = (root / 'ckpt').glob('pretrain-*.pth')
    mine = shutil.copy(pretrained, tmp_path / 'my_backbone.pth')
    short = 'train_schedule.max_epochs=1'  # the stage is what is tested, not the finetuning
    status, _, err = run_tool('train.py', CONFIG, *_options(tmp_path, f'pretrained_checkpoint={mine}', short))
    assert status == 0, err
    assert not list((tmp_path / 'ckpt').glob('pretrain-*')), 'no pretraining: the file is the stage'
    [record] = [p for p in (tmp_path / 'ckpt').glob('original-*.json') if '.metrics-' not in p.name]
    info = json.loads(record.read_text())
    assert info['pretrained'] == json.loads(pretrained.with_suffix('.json').read_text())['sha256']
    assert info['pretrained_checkpoint'] == str(mine)
    status, out, err = run_tool('unlearn.py', CONFIG, '--work-dir', tmp_path / 'runs',
                                *_options(tmp_path, f'pretrained_checkpoint={mine}', short, 'schedule.max_epochs=1'))
    assert status == 0, err
    assert f'- **pretrained backbone**: {mine}, brought by the user: the oracle starts from it too' in out


def test_tools_train_pretrain_runs_the_stage_alone(face_run):
    root, _, _, _ = face_run
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        status, out, err = run_tool('train.py', CONFIG, '--pretrain', *_default_options(root))
    assert status == 0, err
    last = out.strip().splitlines()[-1]
    assert last.startswith('pretrained model (already there): ') and 'pretrain-CifarResNet-' in last


@pytest.mark.parametrize('options, message', [
    (["forget_classes=['person_12']"], "identity 'person_12' is a pretraining identity: the finetuned network has no "
                                       'class for it'),
    (["forget_classes=['person_3']"], "unknown class name 'person_3' in forget_classes (did you mean"),
    (['task.dataset.finetune=[person_00,person_10]', 'task.dataset.pretrain=[person_10,person_11]'], 'person_10'),
])
def test_bad_face_input_is_one_line_and_writes_nothing(tmp_path, options, message):
    status, _, err = run_tool('unlearn.py', CONFIG, '--work-dir', tmp_path / 'runs', *_options(tmp_path, *options))
    assert status == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / 'runs').exists() and not (tmp_path / 'ckpt').exists()


def test_facenets_download_is_refused_naming_the_file_to_fetch(tmp_path):
    config = tmp_path / 'facenet.py'
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\n"
                      "model = dict(_delete_=True, type='FaceNetInceptionResnetV1', pretrained='vggface2')\n")
    status, _, err = run_tool('unlearn.py', config, '--work-dir', tmp_path / 'runs', *_options(tmp_path))
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert '20180402-114759-vggface2.pt' in err and 'pretrained_checkpoint' in err
    assert not (tmp_path / 'runs').exists() and not (tmp_path / 'ckpt').exists()


def test_load_backbone_copies_all_but_the_head_whatever_its_name():
    from unlearn.apis.references import load_backbone

    class Net(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.body = nn.Linear(4, 3)
            self.logits = nn.Linear(3, k)

    source, target = Net(6), Net(10)
    head = target.logits.weight.detach().clone()
    load_backbone(_FaceHead(), source, target)
    assert torch.equal(target.body.weight, source.body.weight) and torch.equal(target.logits.weight, head)


class _FaceHead:
    """The face task's rule for the head (its last nn.Linear), without building a dataset."""

    def classifier(self, network):
        from tasks.face.adapter import FaceTask
        return FaceTask.classifier(self, network)


FACE_CONFIGS = sorted((REPO / 'configs' / 'face').glob('*.py'))


@pytest.mark.parametrize('path', FACE_CONFIGS, ids=lambda p: p.stem)
def test_every_face_config_passes_the_check(path):
    """Every key at every depth is known (the data itself is read only by a run)."""
    from mmengine.config import Config

    from unlearn.config import check_config
    cfg = Config.fromfile(str(path), import_custom_modules=False)
    check_config(cfg)
    assert cfg.work_dir.endswith(path.stem) and cfg.forget_classes


@pytest.mark.slow
@pytest.mark.parametrize('name, config, forget, split', [('faces_orl', 'orl_r18_cpu_forget_s35', 4, (7, 3)),
                                                         ('faces_yaleb', 'yaleb_r18_cpu_forget_yaleB34', 4, (48, 16))])
def test_the_real_face_configs_build_their_request(name, config, forget, split, tmp_path, monkeypatch):
    """The shared face sets, prepared as the configs say, give the request the configs describe."""
    import subprocess
    import sys

    from conftest import SHARED_DATA
    from tools._common import load_config
    from unlearn.apis import load_experiment
    if not (SHARED_DATA / f'{name}.npz').is_file():
        pytest.skip(f'../shared/data/{name}.npz is absent')
    subprocess.run([sys.executable, str(SHARED_DATA.parent / 'tools' / 'prepare_data.py'), str(tmp_path / 'data'),
                    name], check=True, capture_output=True)
    monkeypatch.chdir(tmp_path)
    experiment = load_experiment(load_config(str(REPO / 'configs' / 'face' / f'{config}.py'), {}))
    request = experiment.request
    assert request.forget_classes == [forget] and experiment.task.num_classes == 10
    assert (len(request.train_forget), len(request.test_forget)) == split
    assert experiment.task.faces.pretrain.num_classes in (28, 30)
    assert not set(experiment.task.class_names) & set(experiment.task.faces.pretrain.class_names)


@pytest.mark.parametrize('own_seed', [None, 7])
def test_the_pretraining_seed_is_its_own_else_the_finetunings(tmp_path, own_seed):
    """``pretrain_schedule.seed`` set in a config (or by --cfg-options) is the stage's; unset, the stage follows
    ``train_schedule.seed``, so one seed varies the whole chain."""
    from mmengine.config import Config

    from unlearn.apis import load_experiment
    cfg = Config.fromfile(CONFIG)
    options = {'task.dataset.root': str(tmp_path / 'faces'), 'train_schedule.seed': 3}
    if own_seed is not None:
        options['pretrain_schedule.seed'] = own_seed
    cfg.merge_from_dict(options)
    stage = load_experiment(cfg).task.pretrain_stage(cfg)
    assert stage.schedule['seed'] == (3 if own_seed is None else own_seed)
