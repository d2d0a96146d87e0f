# He et al.'s CIFAR ResNet-20 (0.27M parameters): about 13x cheaper than the CIFAR-stem ResNet-18.
model = dict(type='CifarResNet', depth=20)
