"""Task-agnostic unlearning metrics (SPEC.md §4.5): accuracies, H-Mean and the SVC membership attack."""
from .classification import accuracy, per_class_accuracy, predicted_classes
from .hmean import h_mean
from .mia import HEADLINE_MIA_FEATURE, MIA_FEATURES, mia_attack, mia_features, svc_mia

__all__ = ['accuracy', 'per_class_accuracy', 'predicted_classes', 'h_mean', 'svc_mia', 'mia_attack', 'mia_features',
           'MIA_FEATURES', 'HEADLINE_MIA_FEATURE']
