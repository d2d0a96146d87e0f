# voc_forget_dog.py sized for a CPU: mmseg's DeepLabV3 with a half-width ResNet-18 at output stride 16 (the
# DeepLabV3 paper's training stride, ASPP rates 6/12/18) on 256 px crops, original and oracle trained here
# from random weights (no pretrained backbone is available offline), so expect far below mmseg's 76 mIoU.
_base_ = ['../_base_/seg/deeplabv3_r50_voc12.py']
forget_classes = ['dog']

crop_size = (256, 256)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, stem_channels=32, base_channels=32, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2),
                  norm_cfg=norm_cfg),
    decode_head=dict(in_channels=256, channels=64, dilations=(1, 6, 12, 18), norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=128, channels=32, norm_cfg=norm_cfg))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(1024, 256), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 256), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
original_checkpoint = None  # trained here with mmseg's recipe and cached
task = dict(data_hint='Download PASCAL VOC 2012 (VOCtrainval_11-May-2012.tar, '
                      'http://host.robots.ox.ac.uk/pascal/VOC/voc2012/) and extract it in data/ so that '
                      'data/VOCdevkit/VOC2012/JPEGImages exists')
# Validating the 346 val images every 5th epoch (and the last) rather than every epoch saves a third of the time.
train_schedule = dict(max_epochs=40, batch_size=8, val_interval=5, optim_wrapper=dict(optimizer=dict(lr=0.02)))
work_dir = 'work_dirs/voc_r18_cpu_forget_dog'
