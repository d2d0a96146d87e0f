# The embedded synthetic VOC (tasks/segmentation/synthetic.py): mmseg's Pascal VOC 2012 dataset config with
# the generated data (written to data_root on first use) and a 64 px pipeline. No photometric distortion:
# the synthetic classes differ mainly in colour, which it would blur.
_base_ = ['mmseg::_base_/datasets/pascal_voc12.py']

dataset_type = 'SyntheticVOCDataset'
data_root = 'data/synthetic_voc/VOCdevkit/VOC2012'
crop_size = (48, 48)  # training crops of the 64 px images: cheaper steps, more variety
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(64, 64), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
