"""Face metrics: τ / TAR / FAR on hand-made scores, embedding claims, Grad-CAM against CAM, the face evaluator."""
import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from conftest import run_tool
from tasks.face.evaluator import CORRUPTIONS, FaceEvaluator, corrupted, corruption
from tasks.face.gradcam import gradcam, heat_overlay, last_conv_stage
from tasks.face.verification import (claims, cosine_scores, far, identity_centres, roc_points, tar,
                                     threshold_at_far)
from unlearn.registry import EVALUATORS
from unlearn.request import ForgetRequest, ReferenceData
from unlearn.tensor_task import TensorTask, labels_in


# --- claims, τ, TAR and FAR -----------------------------------------------------------------------

def test_claims_split_genuine_and_impostor_scores():
    probs = np.array([[0.7, 0.2, 0.1],
                      [0.1, 0.3, 0.6]])
    genuine, impostor = claims(probs, [0, 1])
    assert genuine.tolist() == [0.7, 0.3]
    assert impostor.tolist() == [0.2, 0.1, 0.1, 0.6]


@pytest.mark.parametrize('n, tau_index, expected_far', [
    (200, 198, 1.0),   # 2 of 200 claims may be accepted: the second largest score
    (100, 99, 1.0),    # the 1% edge: exactly 1 of 100 is allowed (share == far)
    (300, 297, 1.0),
])
def test_threshold_at_far_on_distinct_scores(n, tau_index, expected_far):
    scores = np.arange(n) / n
    tau = threshold_at_far(scores, 0.01)
    assert tau == scores[tau_index]
    assert far(scores, tau) == pytest.approx(expected_far)
    assert far(scores, scores[tau_index - 1]) > 1.0, 'τ is the smallest qualifying score'


def test_threshold_accepts_nothing_below_one_allowed_claim():
    scores = np.arange(99) / 99  # 1 of 99 claims is 1.01% > 1%
    tau = threshold_at_far(scores, 0.01)
    assert tau > scores.max() and tau == np.nextafter(scores.max(), np.inf)
    assert far(scores, tau) == 0.0


def test_ties_never_push_the_far_over_the_target():
    # 200 claims allow 2: the two tied at 0.9 plus the 0.95 above would be 3, so τ moves up to 0.95
    scores = np.concatenate([[0.95, 0.9, 0.9], np.linspace(0.0, 0.5, 197)])
    tau = threshold_at_far(scores, 0.01)
    assert tau == 0.95 and far(scores, tau) == pytest.approx(0.5)
    # the largest score tied three times: nothing qualifies, nothing is accepted
    tied_top = np.concatenate([[0.9, 0.9, 0.9], np.linspace(0.0, 0.5, 197)])
    assert far(tied_top, threshold_at_far(tied_top, 0.01)) == 0.0
    # exactly two tied at the top: both accepted, 1.0%
    two = np.concatenate([[0.9, 0.9], np.linspace(0.0, 0.5, 198)])
    assert threshold_at_far(two, 0.01) == 0.9 and far(two, 0.9) == pytest.approx(1.0)


def test_threshold_definition_on_random_scores_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores = rng.integers(0, 30, size=rng.integers(50, 400)) / 30
        target = rng.choice([0.01, 0.05, 0.2])
        tau = threshold_at_far(scores, target)
        assert np.mean(scores >= tau) <= target
        smaller = scores[scores < tau]
        if len(smaller):
            assert np.mean(scores >= smaller.max()) > target, 'a smaller score would also have qualified'


def test_non_finite_scores_are_never_accepted():
    impostor = np.concatenate([[np.nan, np.inf], np.arange(98) / 98])  # 100 claims, 1 may be accepted
    tau = threshold_at_far(impostor, 0.01)
    assert tau == 97 / 98 and far(impostor, tau) == pytest.approx(1.0)
    assert tar([np.nan, 1.0, 0.2, -np.inf], 0.5) == pytest.approx(25.0)
    assert threshold_at_far([np.nan, np.nan]) == float('inf')


def test_tar_far_in_percent_and_roc_points():
    assert tar([0.9, 0.5, 0.4, 0.1], 0.5) == pytest.approx(50.0)
    assert far([0.9, 0.5, 0.4, 0.1], 0.95) == 0.0
    far_percent, tar_percent = roc_points([0.9, 0.4], [0.8, 0.3])
    assert far_percent.tolist() == [0, 0, 50, 50, 100]
    assert tar_percent.tolist() == [0, 50, 50, 100, 100]
    with pytest.raises(ValueError, match='no claims'):
        tar([], 0.5)


def test_embedding_claims_on_hand_made_features():
    # identity 0: normalised [1, 0] and [0, 1] average to the diagonal (the raw mean [5, 0.5] would not)
    train = np.array([[10.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])
    centres = identity_centres(train, [0, 0, 1, 1], num_classes=2)
    np.testing.assert_allclose(centres, [[2 ** -0.5, 2 ** -0.5], [0.0, 1.0]], atol=1e-12)
    genuine, impostor = claims(cosine_scores(np.array([[3.0, 3.0], [2.0, 0.0]]), centres), [0, 1])
    np.testing.assert_allclose(genuine, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(impostor, [2 ** -0.5, 2 ** -0.5], atol=1e-12)
    with pytest.raises(ValueError, match=r'identities \[2\]'):
        identity_centres(train, [0, 0, 1, 1], num_classes=3)


# --- Grad-CAM -------------------------------------------------------------------------------------

class GapNet(nn.Module):
    """conv stage -> global average pooling -> dropout -> linear: the network CAM (Zhou et al.) is defined on."""

    def __init__(self, channels: int = 5, num_classes: int = 3):
        super().__init__()
        self.stage = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(channels, num_classes)

    def features(self, x):
        return self.drop(self.pool(self.stage(x)).flatten(1))

    def forward(self, x):
        return self.fc(self.features(x))


def test_gradcam_equals_cam_over_hw_for_gap_and_linear():
    """With GAP, ∂logit_c/∂A_k(i, j) = W_ck / HW at every position, so w_ck = W_ck / HW and
    Grad-CAM = ReLU(Σ_k W_ck A_k) / HW = ReLU(CAM) / HW."""
    torch.manual_seed(0)
    net = GapNet().double().train()
    images, classes = torch.randn(4, 3, 6, 7, dtype=torch.float64), torch.tensor([0, 2, 1, 2])
    maps = gradcam(net, net.stage, images, classes)
    activations = net.stage(images)
    cam = torch.einsum('nk,nkhw->nhw', net.fc.weight[classes], activations).relu() / (6 * 7)
    assert maps.shape == (4, 6, 7)
    torch.testing.assert_close(maps, cam.detach(), atol=1e-6, rtol=0)
    assert net.training, 'the mode is restored'
    assert all(p.grad is None for p in net.parameters()), 'no parameter gradient left behind'


def test_gradcam_under_no_grad_with_frozen_parameters():
    torch.manual_seed(0)
    net = GapNet().double()
    for p in net.parameters():
        p.requires_grad_(False)
    images, classes = torch.randn(2, 3, 5, 5, dtype=torch.float64), torch.tensor([1, 0])
    expected = gradcam(net, net.stage, images, classes)
    with torch.no_grad():  # as inside unlearn.inference.predict
        torch.testing.assert_close(gradcam(net, net.stage, images, classes), expected)
        assert not torch.is_grad_enabled(), 'the grad mode is restored'


def test_all_negative_map_is_zeros_not_nan():
    net = GapNet().double()
    with torch.no_grad():
        net.fc.weight.fill_(-1.0)  # ReLU maps are >= 0, so every weighted sum is <= 0
    maps = gradcam(net, net.stage, torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.tensor([0, 1]))
    assert torch.equal(maps, torch.zeros_like(maps))
    overlay = heat_overlay(maps[0].numpy(), vmax=0.0, cmap=lambda x: np.stack([x] * 4, -1))
    assert np.isfinite(overlay).all() and (overlay[..., 3] == 0).all(), 'a zero row is drawn blank'


def test_last_conv_stage():
    net = GapNet()
    assert last_conv_stage(net) is net.stage

    class Wrapper(nn.Module):  # a backbone with its own head, wrapped with a new classifier
        def __init__(self):
            super().__init__()
            self.backbone, self.fc = GapNet(), nn.Linear(3, 2)

    wrapped = Wrapper()
    assert last_conv_stage(wrapped) is wrapped.backbone.stage
    with pytest.raises(ValueError, match='no child module with a Conv2d'):
        last_conv_stage(nn.Sequential(nn.Flatten(), nn.Linear(3, 2)))


def test_gradcam_rejects_a_layer_without_maps():
    net = GapNet()
    with pytest.raises(ValueError, match=r'\[N, C, h, w\]'):
        gradcam(net, net.fc, torch.randn(1, 3, 4, 4), torch.tensor([0]))


def test_last_conv_stage_of_facenet_is_block8():
    models = pytest.importorskip('tasks.face.models')
    pytest.importorskip('facenet_pytorch')
    net = models.FaceNetInceptionResnetV1(num_classes=3)
    assert last_conv_stage(net) is net.backbone.block8


# --- the evaluator on a tiny fake face task ---------------------------------------------------------

SIZE, NUM_IDS, MEAN, STD = 20, 4, (0.5, 0.4, 0.3), (0.25, 0.25, 0.25)


class TinyFaces(Dataset):
    """uint8 faces in memory; ``with_corruption`` applies an albumentations transform before normalising."""

    def __init__(self, images: np.ndarray, labels, corruption=None):
        self.images, self.labels, self.corruption = images, list(labels), corruption

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = self.images[index]
        if self.corruption is not None:
            image = self.corruption(image=image)['image']
        pixels = torch.from_numpy(image).permute(2, 0, 1).float() / 255
        return (pixels - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None], self.labels[index]

    def with_corruption(self, transform):
        return TinyFaces(self.images, self.labels, transform)


def _faces(per_identity: int, seed: int) -> TinyFaces:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(NUM_IDS), per_identity)
    base = rng.integers(0, 256, size=(NUM_IDS, SIZE, SIZE, 3))
    noise = rng.integers(-40, 40, size=(len(labels), SIZE, SIZE, 3))
    return TinyFaces(np.clip(base[labels] + noise, 0, 255).astype(np.uint8), labels.tolist())


class TinyFaceTask(TensorTask):
    eval_batch_size, eval_train_augmented, mia_seed = 8, False, 0

    def __init__(self):
        super().__init__([f'id{i}' for i in range(NUM_IDS)])

    def fingerprint(self):
        return dict(task='tiny-face')

    def pixel_normalization(self):
        return MEAN, STD

    def gradcam_layer(self, network):
        return last_conv_stage(network)


class TinyFaceNet(nn.Module):
    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, NUM_IDS)

    def features(self, x):
        return self.pool(self.stem(x)).flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))


@pytest.fixture(scope='module')
def face_request() -> ForgetRequest:
    train, test = _faces(6, seed=1), _faces(4, seed=2)
    forget = [1]
    train_f = [i for i, y in enumerate(train.labels) if y in forget]
    train_r = [i for i, y in enumerate(train.labels) if y not in forget]
    test_f = [i for i, y in enumerate(test.labels) if y in forget]
    test_r = [i for i, y in enumerate(test.labels) if y not in forget]
    return ForgetRequest(
        forget_classes=forget, forget_names=['id1'], train_forget=Subset(train, train_f),
        train_remain=Subset(train, train_r), train_forget_eval=Subset(train, train_f),
        train_remain_eval=Subset(train, train_r), test_forget=Subset(test, test_f), test_remain=Subset(test, test_r),
        original_data=ReferenceData(train, test), oracle_data=None, is_forget=lambda b: labels_in(b[1], forget),
        test=test)


@pytest.fixture(scope='module')
def evaluated(face_request):
    evaluator = EVALUATORS.build(dict(type='FaceEvaluator', task=TinyFaceTask()))
    networks = {'Original': TinyFaceNet(0), 'Retrain': TinyFaceNet(1), 'DELETE': TinyFaceNet(2)}
    rows = {'Original': evaluator.evaluate(networks['Original'], face_request)}
    for name in ('Retrain', 'DELETE'):
        rows[name] = evaluator.evaluate(networks[name], face_request, original=rows['Original'])
    return evaluator, networks, rows


FACE_KEYS = ('tau', 'tar_f', 'tar_r', 'far_at_tau', 'emb_tau', 'emb_tar_f', 'emb_tar_r', 'cam_mass_f', 'cam_ratio_f',
             'robust_acc_ft', 'robust_acc_rt', 'robust_tar_f', 'robust_tar_r')


def test_evaluator_adds_the_face_metrics(evaluated):
    evaluator, _, rows = evaluated
    assert isinstance(evaluator, FaceEvaluator)
    original = rows['Original']
    assert {'acc_ft', 'acc_rt', 'mia', *FACE_KEYS} <= set(original)
    assert original['tau_from'] == 'own' and original['far_at_tau'] <= 1.0
    assert original['cam_mass_f'] > 0 and original['cam_ratio_f'] is None
    assert set(original['robust_per_corruption']) == set(CORRUPTIONS)
    assert original['robust_acc_ft'] == pytest.approx(np.mean(
        [m['acc_ft'] for m in original['robust_per_corruption'].values()]))
    json.dumps(rows, allow_nan=False)  # metrics.json
    assert list(evaluator.columns)[-2:] == ['tar_f', 'tar_r']


def test_original_tau_is_reused_by_the_other_models(evaluated, face_request):
    evaluator, networks, rows = evaluated
    for name in ('Retrain', 'DELETE'):
        assert rows[name]['tau'] == rows['Original']['tau'] and rows[name]['tau_from'] == 'Original'
        assert rows[name]['cam_ratio_f'] == pytest.approx(rows[name]['cam_mass_f'] / rows['Original']['cam_mass_f'])
    # τ is read from the original's metrics: at τ = 0 every claim is accepted, clean or corrupted
    accept_all = evaluator.evaluate(networks['DELETE'], face_request, original=dict(rows['Original'], tau=0.0))
    assert accept_all['tar_f'] == accept_all['tar_r'] == accept_all['far_at_tau'] == 100.0
    assert accept_all['robust_tar_f'] == accept_all['robust_tar_r'] == 100.0
    assert accept_all['emb_tau'] == rows['DELETE']['emb_tau'], "the embedding τ is each model's own"


def test_evaluation_is_reproducible(evaluated, face_request):
    evaluator, networks, rows = evaluated
    again = evaluator.evaluate(networks['Retrain'], face_request, original=rows['Original'])
    assert json.dumps(again) == json.dumps(rows['Retrain'])


def test_facts_and_figures(evaluated, face_request, tmp_path):
    evaluator, networks, rows = evaluated
    facts = evaluator.facts(rows)
    assert "the Original's τ" in facts['TAR_f / TAR_r'] and 'DELETE' in facts['TAR_f / TAR_r']
    assert 'jpeg_q30' in facts['corrupted test faces']
    evaluator.write_figures(tmp_path / 'plots', networks, rows, face_request)
    for name in ('gradcam.png', 'verification_roc.png'):
        assert (tmp_path / 'plots' / name).stat().st_size > 0


def test_corruptions_are_pinned_and_reach_the_images(face_request):
    image = face_request.test.images[0]
    for name in CORRUPTIONS:
        transform = corruption(name)
        assert np.array_equal(transform(image=image)['image'], transform(image=image)['image']), name
    blurred = corrupted(face_request.test_forget, corruption('gaussian_blur'))
    assert isinstance(blurred, Subset) and blurred.indices == face_request.test_forget.indices
    assert not torch.equal(blurred[0][0], face_request.test_forget[0][0])
    with pytest.raises(TypeError, match='with_corruption'):
        corrupted(Subset(list(range(3)), [0]), corruption('jpeg_q30'))


# --- the tools refuse to overwrite, before any work ---------------------------------------------------

def test_face_eval_refuses_existing_outputs(tmp_path):
    existing = tmp_path / 'metrics.json'
    existing.write_text('{}')
    status, _, err = run_tool('face_eval.py', tmp_path / 'missing.py', tmp_path / 'missing.pth', '--out', existing)
    assert status == 2 and 'metrics.json exists' in err and len(err.strip().splitlines()) == 1
    (tmp_path / 'plots').mkdir()
    (tmp_path / 'plots' / 'gradcam.png').write_bytes(b'x')
    status, _, err = run_tool('face_eval.py', tmp_path / 'missing.py', tmp_path / 'missing.pth',
                              '--plots', tmp_path / 'plots')
    assert status == 2 and 'not an empty folder' in err
    status, _, err = run_tool('analysis/gradcam.py', tmp_path, '--out', existing)
    assert status == 2 and 'never overwritten' in err
