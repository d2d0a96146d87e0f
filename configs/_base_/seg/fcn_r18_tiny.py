# mmseg's FCN (dilated ResNet, output stride 8) shrunk for the synthetic default on a CPU: ResNet-18 depth,
# a quarter of the channels, plain BN; mmseg's decode and auxiliary heads and losses unchanged.
_base_ = ['mmseg::_base_/models/fcn_r50-d8.py']

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(48, 48)),  # the synthetic VOC's training crops
    backbone=dict(depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=128, channels=32, num_convs=1, num_classes=21, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=16, num_classes=21, norm_cfg=norm_cfg),
)
