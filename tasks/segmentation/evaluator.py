"""How a segmentation model is scored: IoU, forget-pixel accuracy and where the forget pixels go (SPEC.md §5.3)."""
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmseg.evaluation import IoUMetric
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from unlearn.evaluator import Metrics, TaskEvaluator
from unlearn.inference import predict
from unlearn.registry import EVALUATORS
from unlearn.reports import diverged_fact
from unlearn.request import ForgetRequest

from .metrics import confusion_matrix, pixel_accuracy, predicted_pixels, segmentation_metrics, total_variation
from .visualization import overlay_figure, redistribution_figure


def _predictions(network: nn.Module, batch) -> list:
    """mmseg's ``predict`` of a collated batch: its SegDataSamples, at each image's original resolution."""
    data = network.data_preprocessor(batch, False)
    return network.predict(data['inputs'], data['data_samples'])


@EVALUATORS.register_module()
class SegmentationEvaluator(TaskEvaluator):
    """Per-class IoU, forget-class IoU, remaining mIoU, forget-pixel accuracy on train and val, and where the
    forget pixels go, from mmseg's own ``predict``."""
    columns = dict(iou_forget='IoU_f ↓', miou_remain='mIoU_r ↑', acc_f='Acc_f ↓', acc_ft='Acc_ft ↓',
                   h_mean='H-Mean ↑', forget_to_background='→ background %', redistribution_gap='gap to Retrain ↓')

    def confusion(self, network: nn.Module, dataset: Dataset, split: str, desc: str = '') -> np.ndarray:
        """``[K, K + 1]`` pixel counts (rows: ground truth, columns: prediction, then no prediction), void
        excluded. mmseg's test pipelines draw nothing random; the ``split``'s seed keeps a random one, if
        configured, reproducible."""
        num_classes = self.task.num_classes

        def per_batch(net: nn.Module, batch) -> torch.Tensor:
            total = torch.zeros(num_classes, num_classes + 1, dtype=torch.long)
            for sample in _predictions(net, batch):
                pred = predicted_pixels(sample.pred_sem_seg.data[0], sample.seg_logits.data)
                total += confusion_matrix(pred, sample.gt_sem_seg.data[0], num_classes).cpu()
            return total

        counts = predict(network, dataset, per_batch, seed=self.seed(split), batch_size=self.task.eval_batch_size,
                         num_workers=self.task.num_workers, collate_fn=pseudo_collate, desc=desc)
        return torch.stack(counts).sum(0).numpy()

    def accuracy(self, network: nn.Module, dataset: Dataset, split: str, request: ForgetRequest) -> float:
        """For the unlearning curves: accuracy on the forget classes' pixels if the images have any, else on
        all pixels (so a forget sample's curve falls when the class is forgotten)."""
        confusion = self.confusion(network, dataset, split)
        forget = request.forget_classes
        return pixel_accuracy(confusion, forget if confusion[forget].sum() else range(self.task.num_classes))

    def selection_metric(self) -> tuple:
        return Evaluator([IoUMetric(iou_metrics=['mIoU'])]), 'mIoU'

    def predict_for_metric(self, network: nn.Module, batch: dict) -> list:
        return network.predict(batch['inputs'], batch['data_samples'])

    def evaluate(self, network: nn.Module, request: ForgetRequest, original: Optional[Metrics] = None) -> Metrics:
        return segmentation_metrics(
            test=self.confusion(network, request.test, 'test', desc='val'),
            train_forget=self.confusion(network, request.train_forget_eval, 'train_forget_eval', desc='D_f'),
            train_remain=self.confusion(network, request.train_remain_eval, 'train_remain_eval', desc='D_r'),
            forget_classes=request.forget_classes, class_names=self.task.class_names, original=original)

    def compare_to_retrain(self, metrics: Metrics, retrain: Metrics) -> Metrics:
        """``redistribution_gap``: total variation (percent) between where a model's forget pixels go and
        where the oracle's go; the paper's point is that DELETE's go where the retrained model's do."""
        return dict(redistribution_gap=total_variation(metrics['forget_pixels_to'], retrain['forget_pixels_to']))

    def write_figures(self, folder: Path, networks: Dict[str, nn.Module], rows: Dict[str, Metrics],
                      request: ForgetRequest, num_images: int = 4) -> None:
        """``overlays.png``: the val images with the most forget pixels, every model's prediction side by side
        (the paper's Fig. 6); ``forget_pixels.png``: where each model's forget pixels go."""
        items = [request.test_forget[i] for i in range(len(request.test_forget))]
        forget = torch.tensor(request.forget_classes)
        items = sorted(items, key=lambda it: -int(torch.isin(it['data_samples'].gt_sem_seg.data, forget).sum()))
        samples = []
        for item in items[:num_images]:
            predictions = {name: predict(network, [item], _predictions, seed=0, batch_size=1,
                                         collate_fn=pseudo_collate)[0][0].pred_sem_seg.data[0].cpu().numpy()
                           for name, network in networks.items()}
            image = np.asarray(Image.open(item['data_samples'].img_path).convert('RGB'))
            samples.append((image, item['data_samples'].gt_sem_seg.data[0].numpy(), predictions))
        names = ', '.join(request.forget_names)
        overlay_figure(folder / 'overlays.png', samples, self.task.palette, self.task.class_names,
                       f'Forgetting {names}: val images with the most {names} pixels')
        redistribution_figure(folder / 'forget_pixels.png', {k: m['forget_pixels_to'] for k, m in rows.items()},
                              f'Where the val {names} pixels go')

    def facts(self, rows: Dict[str, Metrics]) -> Dict[str, str]:
        metrics = list(rows.values())[-1]
        facts = {}
        if metrics.get('non_finite_outputs'):
            facts['Diverged'] = diverged_fact(metrics['non_finite_outputs'], 'pixels')
        facts['IoU_f / mIoU_r'] = ('forget-class IoU on all val pixels; remaining-class mIoU on the val pixels '
                                   'of remaining classes (metrics.json: per_class_iou, miou over all pixels)')
        facts['Acc_f / Acc_ft'] = 'forget-pixel accuracy on training / val images, test pipeline'
        facts['forget pixels go to'] = ', '.join(f'{k} {v:.1f}%' for k, v in sorted(
            metrics['forget_pixels_to'].items(), key=lambda kv: -kv[1]) if v >= 0.5)
        if 'Retrain' in rows:
            facts['gap to Retrain'] = "total variation between where its forget pixels go and where the oracle's go"
        facts['figures'] = 'plots/overlays.png (predictions side by side), plots/forget_pixels.png'
        return facts
