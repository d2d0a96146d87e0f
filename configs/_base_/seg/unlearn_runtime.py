# Segmentation unlearning on top of an mmseg config: the task reads mmseg's train_dataloader / val_dataloader
# (their datasets and pipelines) and builds mmseg's `model`; everything below is ours.
_base_ = ['../default_runtime.py', '../methods/delete.py']

custom_imports = dict(imports=['tasks.segmentation'])  # the task's package (it imports mmseg)
task = dict(
    type='SegmentationTask',
    min_forget_pixels=1,          # an image with at least this many forget pixels is a forget image
    remain_policy='drop_images',  # the oracle never sees a forget image (paper); 'void_pixels': voids them
    data_hint='',                 # what to say when the data is missing (where to download, where to put)
)
# The original model and the retrain oracle: mmseg's own recipe (its segmentor's loss, its pipeline, and
# schedule_20k's SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly decay to 1e-4 with power 0.9 per
# iteration), counted in epochs over the config's training images, best epoch by val mIoU.
train_schedule = dict(
    max_epochs=30,
    batch_size=16,
    optim_wrapper=dict(type='OptimWrapper',
                       optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4), clip_grad=None),
    param_scheduler=dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=True, convert_to_iter_based=True),
    seed=2022,
    log_interval=50,
)
# Unlearning: the official DELETE optimiser (SGD, momentum 0.9, no weight decay, 20 epochs over the forget
# images; SPEC.md §1.4). The paper gives no segmentation learning rate (SPEC.md §5.3): leaf configs set it.
schedule = dict(
    max_epochs=20,
    batch_size=8,
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=0.0)),
    disable_bn=False,
    freeze_classifier=False,
    curve_interval=1,
    curve_samples=32,  # images per split for the curves: per-pixel evaluation is dearer than per-image
    log_interval=10,
)
