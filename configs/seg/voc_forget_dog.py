# The paper's segmentation setting (Fig. 6): forget "dog" from mmseg's DeepLabV3 on PASCAL VOC 2012.
_base_ = ['../_base_/seg/deeplabv3_r50_voc12.py']
forget_classes = ['dog']
work_dir = 'work_dirs/voc_forget_dog'
