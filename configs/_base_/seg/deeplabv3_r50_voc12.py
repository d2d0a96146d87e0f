# mmseg's DeepLabV3 (ResNet-50, output stride 8, 512 px crops) on PASCAL VOC 2012, exactly as mmseg ships it,
# set up for unlearning; the configs/seg/voc_forget_<class>.py leaves add the class to forget.
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py', 'unlearn_runtime.py']

# The forget split, D_r and the oracle's data come from VOC 2012's own train list (1,464 images): mmseg's
# extra SBD images ("aug", SegmentationClassAug) are optional; put mmseg's ConcatDataset back to use them.
train_dataloader = dict(dataset=dict(_delete_=True, **_base_.dataset_train))
# mmseg would download the ImageNet backbone open-mmlab://resnet50_v1c; runs never download: give its local
# file here to train the retrain oracle as mmseg does (None: from random weights).
model = dict(pretrained=None)
task = dict(data_hint=(
    'Download PASCAL VOC 2012 (VOCtrainval_11-May-2012.tar, http://host.robots.ox.ac.uk/pascal/VOC/voc2012/) '
    'and extract it in data/ so that data/VOCdevkit/VOC2012/JPEGImages exists, and mmseg\'s checkpoint of this '
    'model (https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r50-d8_512x512_20k_voc12aug/'
    'deeplabv3_r50-d8_512x512_20k_voc12aug_20200617_010906-596905ef.pth) into checkpoints/'))
# The original model: mmseg's model-zoo checkpoint of this config (76.17 mIoU on VOC 2012 val), the URL above.
original_checkpoint = 'checkpoints/deeplabv3_r50-d8_512x512_20k_voc12aug_20200617_010906-596905ef.pth'
# The retrain oracle (trained once, cached): mmseg's 20k iterations of 16 images, ~220 epochs of VOC 2012 train.
train_schedule = dict(max_epochs=220, batch_size=16, log_interval=20)
# DELETE: 20 epochs over the forget images (SPEC.md §1.4); the paper gives no segmentation learning rate.
schedule = dict(batch_size=8, optim_wrapper=dict(optimizer=dict(lr=1e-3)), curve_samples=16)
