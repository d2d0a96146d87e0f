# CIFAR-stem ResNet-18 (3x3 stride-1 stem, no max-pool) on 32 px images: the official `my-resnet18`.
model = dict(type='ResNet18', stem='cifar')
