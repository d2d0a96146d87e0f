# The segmentation embedded default: forget "dog" from a tiny mmseg FCN on the synthetic VOC, with DELETE.
# Writes the data on first use; runs in about a minute on 2 CPU cores, original and retrain models included.
_base_ = ['../_base_/seg/synthetic_voc.py', '../_base_/seg/fcn_r18_tiny.py', '../_base_/seg/unlearn_runtime.py']
forget_classes = ['dog']

train_schedule = dict(max_epochs=10, batch_size=8, optim_wrapper=dict(optimizer=dict(lr=0.1)), log_interval=10)
schedule = dict(max_epochs=10, optim_wrapper=dict(optimizer=dict(lr=0.01)))
work_dir = 'work_dirs/synthetic_forget_dog'
