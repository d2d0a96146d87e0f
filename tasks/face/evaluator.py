"""How a face-recognition model is scored (SPEC.md §5.1): the classification metrics, verification at a fixed
false accept rate, Grad-CAM on the forgotten faces (the paper's Fig. 5) and accuracy under common corruptions.

An identity is a class. Forgetting one should leave a model that no longer verifies that person (TAR_f low at the
original's threshold), still verifies everyone else (TAR_r), and no longer looks at the forgotten face.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import albumentations as A
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import ConcatDataset, Dataset, Subset

from tasks.classification.evaluator import ClassificationEvaluator
from unlearn.evaluator import Metrics
from unlearn.inference import device_of, predict
from unlearn.metrics import accuracy, predicted_classes
from unlearn.registry import EVALUATORS
from unlearn.reports import pyplot, save_figure
from unlearn.request import ForgetRequest

from .gradcam import gradcam, gradcam_grid, upsample
from .verification import claims, cosine_scores, far, identity_centres, roc_points, tar, threshold_at_far

#: The false accept rate at which τ is set.
TARGET_FAR = 0.01
#: Common corruptions, one fixed severity each, applied to the uint8 face before the test pipeline. Every
#: parameter is pinned, so a corruption is a function of the image alone: albumentations 2 draws from its own
#: generators, which the evaluation seeds do not reach.
CORRUPTIONS = {
    'gaussian_blur': dict(type='GaussianBlur', blur_limit=(7, 7), sigma_limit=(2.0, 2.0)),
    'jpeg_q30': dict(type='ImageCompression', quality_range=(30, 30)),
    'darker_low_contrast': dict(type='RandomBrightnessContrast', brightness_limit=(-0.3, -0.3),
                                contrast_limit=(-0.3, -0.3)),
    'rotate_10deg': dict(type='Rotate', limit=(10, 10)),
}
FIGURE_FACES = 3  # forgotten and remaining test faces in gradcam.png


def corruption(name: str) -> A.BasicTransform:
    """The albumentations transform of ``CORRUPTIONS[name]``, always applied."""
    kwargs = dict(CORRUPTIONS[name])
    return getattr(A, kwargs.pop('type'))(**kwargs, p=1.0)


def corrupted(dataset: Dataset, transform) -> Dataset:
    """``dataset`` with ``transform`` applied to its uint8 images before its test pipeline: through a request's
    ``Subset`` s down to the face images' ``with_corruption``."""
    if isinstance(dataset, Subset):
        return Subset(corrupted(dataset.dataset, transform), dataset.indices)
    if not hasattr(dataset, 'with_corruption'):
        raise TypeError(f'{type(dataset).__name__} has no with_corruption(transform): the face evaluator cannot '
                        'corrupt its images')
    return dataset.with_corruption(transform)


@dataclass(frozen=True)
class VerificationClaims:
    """The scores of the test faces' claims: the genuine ones of the forgotten and of the remaining identities,
    and every impostor claim (any face claimed as any other identity)."""
    genuine_f: np.ndarray
    genuine_r: np.ndarray
    impostor: np.ndarray

    @classmethod
    def of(cls, scores_f, labels_f, scores_r, labels_r) -> 'VerificationClaims':
        (genuine_f, impostor_f), (genuine_r, impostor_r) = claims(scores_f, labels_f), claims(scores_r, labels_r)
        return cls(genuine_f, genuine_r, np.concatenate([impostor_f, impostor_r]))


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    """Claim scores in float64: a confident network's float32 softmax ties its top scores at exactly 1.0."""
    return F.softmax(logits.double(), dim=1).cpu()


def _probabilities(network: nn.Module, batch) -> tuple:
    return _softmax(network(batch[0].to(device_of(network)))), batch[1]


def _probabilities_and_features(network: nn.Module, batch) -> tuple:
    inputs = batch[0].to(device_of(network))
    return _softmax(network(inputs)), network.features(inputs).flatten(1).float().cpu(), batch[1]


def _features(network: nn.Module, batch) -> tuple:
    return network.features(batch[0].to(device_of(network))).flatten(1).float().cpu(), batch[1]


def _spread(length: int, count: int) -> List[int]:
    """``count`` indices spread evenly over ``range(length)`` (faces of several identities, not one)."""
    return sorted(set(np.linspace(0, length - 1, min(count, length)).round().astype(int).tolist()))


@EVALUATORS.register_module()
class FaceEvaluator(ClassificationEvaluator):
    """The classification metrics plus, in percent: verification (``tau``, ``tar_f``, ``tar_r``,
    ``far_at_tau``; ``emb_*`` from embeddings), Grad-CAM on the forgotten faces (``cam_mass_f``,
    ``cam_ratio_f``) and the test accuracies and TARs under :data:`CORRUPTIONS` (``robust_*``).

    The task must provide ``gradcam_layer(network)`` (the module whose output maps Grad-CAM explains) and
    ``pixel_normalization()``; its networks ``features(x)`` (the penultimate embedding); its test images
    ``with_corruption(transform)``.
    """
    columns = dict(ClassificationEvaluator.columns, tar_f='TAR_f ↓', tar_r='TAR_r ↑')

    def fingerprint(self) -> Dict:
        return dict(super().fingerprint(), face='face-v1', target_far=TARGET_FAR, corruptions=CORRUPTIONS)

    def _outputs(self, network: nn.Module, dataset: Dataset, per_batch, split: str, desc: str = '',
                 gradients: bool = False) -> list:
        """``per_batch``'s outputs over ``dataset`` under ``split``'s seed, each concatenated into an array
        (``gradients``: ``per_batch`` computes Grad-CAM)."""
        outputs = predict(network, dataset, per_batch, seed=self.seed(split), batch_size=self.task.eval_batch_size,
                          num_workers=self.task.num_workers, desc=desc, gradients=gradients)
        return [torch.cat(part).numpy() for part in zip(*outputs)]

    def verification_claims(self, network: nn.Module, request: ForgetRequest) -> Dict[str, VerificationClaims]:
        """``{'logits': softmax claims, 'embeddings': cosine claims}`` of the test faces. The identity centres
        come from the images Acc_f / Acc_r are measured on (the same draws, under the same seeds)."""
        probs_f, features_f, labels_f = self._outputs(network, request.test_forget, _probabilities_and_features,
                                                      'test_forget', desc='D_ft (verification)')
        probs_r, features_r, labels_r = self._outputs(network, request.test_remain, _probabilities_and_features,
                                                      'test_remain', desc='D_rt (verification)')
        train = [self._outputs(network, dataset, _features, split, desc=f'{name} (identity centres)')
                 for dataset, split, name in ((request.train_forget_eval, 'train_forget_eval', 'D_f'),
                                              (request.train_remain_eval, 'train_remain_eval', 'D_r'))]
        centres = identity_centres(np.concatenate([f for f, _ in train]), np.concatenate([y for _, y in train]),
                                   self.task.num_classes)
        return dict(logits=VerificationClaims.of(probs_f, labels_f, probs_r, labels_r),
                    embeddings=VerificationClaims.of(cosine_scores(features_f, centres), labels_f,
                                                     cosine_scores(features_r, centres), labels_r))

    def cam_masses(self, network: nn.Module, dataset: Dataset, split: str) -> np.ndarray:
        """Per image: the sum of its Grad-CAM map for its true identity (before any normalisation).

        Through :func:`unlearn.inference.predict` like every pass: :func:`gradcam` records its own small graph
        inside ``predict``'s ``no_grad``."""
        layer = self.task.gradcam_layer(network)

        def per_batch(net: nn.Module, batch) -> tuple:
            return (gradcam(net, layer, batch[0].to(device_of(net)), batch[1]).sum((1, 2)).cpu(),)

        return self._outputs(network, dataset, per_batch, split, desc='D_ft (Grad-CAM)', gradients=True)[0]

    def robustness(self, network: nn.Module, request: ForgetRequest, tau: float) -> Metrics:
        """Acc_ft, Acc_rt and the TARs at ``tau`` on the corrupted test faces: per corruption
        (``robust_per_corruption``) and averaged over them (``robust_acc_ft``, ...)."""
        per_corruption = {}
        for name in CORRUPTIONS:
            scores = {}
            for part, dataset in (('f', request.test_forget), ('r', request.test_remain)):
                probs, labels = self._outputs(network, corrupted(dataset, corruption(name)), _probabilities,
                                              f'robust_{name}/test_{part}', desc=f'D_{part}t ({name})')
                scores[f'acc_{part}t'] = accuracy(predicted_classes(probs), labels)
                scores[f'tar_{part}'] = tar(claims(probs, labels)[0], tau)
            per_corruption[name] = scores
        means = {f'robust_{key}': float(np.mean([scores[key] for scores in per_corruption.values()]))
                 for key in ('acc_ft', 'acc_rt', 'tar_f', 'tar_r')}
        return dict(means, robust_per_corruption=per_corruption)

    def evaluate(self, network: nn.Module, request: ForgetRequest, original: Optional[Metrics] = None) -> Metrics:
        """The classification metrics plus the face metrics (percent).

        ``tau``: without ``original`` (the original itself, or a checkpoint with no original to compare with)
        the model's own τ at 1% FAR (:func:`threshold_at_far`); otherwise the original's, so every model is
        judged at the operating point the deployed system was tuned to (``tau_from`` says which). The
        embedding TARs use each model's own τ (``emb_tau``): cosines of different embeddings are not comparable.
        ``cam_ratio_f`` = ``cam_mass_f`` / the original's: None without ``original`` (as the original's own
        H-Mean), or where either mass is undefined (zero, or a diverged network's).
        """
        metrics = super().evaluate(network, request, original=original)
        verification = self.verification_claims(network, request)
        logits, embeddings = verification['logits'], verification['embeddings']
        tau = threshold_at_far(logits.impostor, TARGET_FAR) if original is None else original['tau']
        emb_tau = threshold_at_far(embeddings.impostor, TARGET_FAR)
        metrics.update(
            tau=tau, tau_from='own' if original is None else 'Original',
            tar_f=tar(logits.genuine_f, tau), tar_r=tar(logits.genuine_r, tau), far_at_tau=far(logits.impostor, tau),
            emb_tau=emb_tau, emb_tar_f=tar(embeddings.genuine_f, emb_tau), emb_tar_r=tar(embeddings.genuine_r, emb_tau),
            emb_far_at_tau=far(embeddings.impostor, emb_tau))
        masses = self.cam_masses(network, request.test_forget, 'test_forget')
        cam_mass = float(masses.mean()) if np.isfinite(masses).all() else None
        reference = None if original is None else original.get('cam_mass_f')
        metrics['cam_mass_f'] = cam_mass
        metrics['cam_ratio_f'] = cam_mass / reference if cam_mass is not None and reference else None
        metrics.update(self.robustness(network, request, tau))
        return metrics

    def facts(self, rows: Dict[str, Metrics]) -> Dict[str, str]:
        facts = super().facts(rows)
        if 'Original' in rows:
            how = (f"the Original's τ = {rows['Original']['tau']:.4g}: the softmax score at which it accepts at most "
                   f'{TARGET_FAR:.0%} of its impostor claims (every test face claimed as each other identity)')
        else:
            how = f"each model's own τ at {TARGET_FAR:.0%} FAR of its impostor claims (there is no original model)"
        far_at_tau = ', '.join(f"{name} {row['far_at_tau']:.2f}%" for name, row in rows.items())
        facts['TAR_f / TAR_r'] = (f'genuine claims of the forgotten / remaining test faces accepted at {how}; FAR at '
                                  f'τ: {far_at_tau}; embedding TARs and Grad-CAM mass in metrics.json (emb_*, cam_*)')
        robust = ', '.join(f"{name} {row['robust_acc_ft']:.1f} / {row['robust_acc_rt']:.1f}%"
                           for name, row in rows.items())
        facts['corrupted test faces'] = (f"Acc_ft / Acc_rt averaged over {', '.join(CORRUPTIONS)} (τ kept): {robust}; "
                                         'TARs and each corruption in metrics.json (robust_*)')
        pretrained = getattr(self.task, 'pretrained_checkpoint', None)
        if pretrained:
            facts['pretrained backbone'] = (f'{pretrained}, brought by the user: the oracle starts from it too, and '
                                            'if it was trained on data holding the forgotten person, the oracle has '
                                            'seen that face (it is not a clean retrain)')
        return facts

    def write_figures(self, folder: Path, networks: Dict[str, nn.Module], rows: Dict[str, Metrics],
                      request: ForgetRequest) -> None:
        """``gradcam.png`` (the paper's Fig. 5) and ``verification_roc.png``."""
        self.gradcam_figure(folder / 'gradcam.png', networks, request)
        self.roc_figure(folder / 'verification_roc.png', networks, rows, request)

    def _figure_maps(self, network: nn.Module, faces: Dataset) -> tuple:
        """Images ``[N, 3, H, W]``, labels and Grad-CAM maps at the images' size of ``faces``."""
        layer = self.task.gradcam_layer(network)

        def per_batch(net: nn.Module, batch) -> tuple:
            return batch[0], batch[1], gradcam(net, layer, batch[0].to(device_of(net)), batch[1]).cpu()

        images, labels, maps = (torch.cat(part) for part in zip(*predict(
            network, faces, per_batch, seed=self.seed('gradcam_figure'), batch_size=self.task.eval_batch_size,
            gradients=True)))
        return images, labels, upsample(maps, images.shape[-2:])

    def gradcam_figure(self, path: Path, networks: Dict[str, nn.Module], request: ForgetRequest,
                       faces: int = FIGURE_FACES) -> Path:
        """Grad-CAM of the true identity on ``faces`` forgotten and ``faces`` remaining test faces (spread over
        each split, the same for every model), one column per model."""
        forgotten = Subset(request.test_forget, _spread(len(request.test_forget), faces))
        remaining = Subset(request.test_remain, _spread(len(request.test_remain), faces))
        maps = {}
        for name, network in networks.items():
            images, labels, model_maps = self._figure_maps(network, ConcatDataset([forgotten, remaining]))
            maps[name] = model_maps.numpy()
        mean, std = (torch.tensor(v, dtype=torch.float32)[:, None, None] for v in self.task.pixel_normalization())
        pixels = (images * std + mean).clamp(0, 1).permute(0, 2, 3, 1).numpy()
        row_labels = [f"{self.task.class_names[int(y)]}\n({'forgotten' if i < len(forgotten) else 'remaining'})"
                      for i, y in enumerate(labels)]
        return gradcam_grid(path, pixels, maps, row_labels,
                            'Grad-CAM of the true identity\none colour scale per row, shared by its models; '
                            'transparent: 0')

    def roc_figure(self, path: Path, networks: Dict[str, nn.Module], rows: Dict[str, Metrics],
                   request: ForgetRequest) -> Path:
        """TAR against FAR (log scale) of every model, from its softmax scores and from its embeddings: solid
        for the remaining identities' genuine claims, dashed for the forgotten ones'."""
        curves = {name: self.verification_claims(network, request) for name, network in networks.items()}
        tau = rows.get('Original', {}).get('tau')
        return plot_roc(path, curves, 'Verification of the test faces' + (
            '' if tau is None else f" (the Original's τ = {tau:.4g}: at most {TARGET_FAR:.0%} FAR)"))


def plot_roc(path: Path, curves: Dict[str, Dict[str, VerificationClaims]], title: str) -> Path:
    """One panel per score (logits, embeddings), one colour per model, dashed: forgotten, solid: remaining."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), dpi=120)
    colours = plt.get_cmap('tab10')
    smallest = min(100.0 / len(model['logits'].impostor) for model in curves.values())  # one impostor claim
    for ax, score in zip(axes, ('logits', 'embeddings')):
        for i, (name, model) in enumerate(curves.items()):
            scores = model[score]
            for genuine, dash, who in ((scores.genuine_r, '-', 'remaining'), (scores.genuine_f, '--', 'forgotten')):
                far_percent, tar_percent = roc_points(genuine, scores.impostor)
                shown = far_percent > 0  # a log axis has no FAR of 0
                ax.plot(far_percent[shown], tar_percent[shown], dash, color=colours(i % 10), label=f'{name}, {who}')
        ax.axvline(100 * TARGET_FAR, color='grey', lw=0.8, ls=':')
        ax.set_xscale('log')
        ax.set_xlim(smallest, 100)
        ax.set_ylim(-2, 102)
        ax.set_xlabel('FAR (%)')
        ax.set_ylabel('TAR (%)')
        ax.set_title('softmax score of the claimed identity' if score == 'logits'
                     else 'cosine to the identity\'s mean training embedding', fontsize=9)
        ax.grid(alpha=0.3, which='both')
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=len(curves), fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))  # the legend below the panels
    return save_figure(fig, path)
