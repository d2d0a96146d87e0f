# The paper's ResNet-18: torchvision's ImageNet stem, fed 224 px upsampled images (SPEC.md §4.3).
model = dict(type='ResNet18', stem='imagenet')
