# The embedded default: forget the digit 3 from a small CNN on scikit-learn's digits, with DELETE.
# Runs in about a minute on 2 CPU cores, original and retrain models included.
_base_ = [
    '../_base_/datasets/digits.py', '../_base_/models/digits_cnn.py', '../_base_/methods/delete.py',
    '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
forget_classes = ['three']

# 1,437 training images: a short recipe is enough to reach ~98% test accuracy.
train_schedule = dict(max_epochs=15, batch_size=64,
                      optim_wrapper=dict(optimizer=dict(lr=0.05)),
                      param_scheduler=dict(step_size=10), log_interval=10)
schedule = dict(batch_size=32, optim_wrapper=dict(optimizer=dict(lr=2e-3)))
work_dir = 'work_dirs/digits_forget_3'
