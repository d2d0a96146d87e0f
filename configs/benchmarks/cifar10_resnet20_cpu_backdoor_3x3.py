# The 3x3 column of cifar10_resnet20_cpu_backdoor_trigger_sizes.py on its first original alone: every defense row
# against one backdoored CIFAR-10 ResNet-20, one unlearning seed (the original and oracle train in ~15 min each
# on 2 cores, Neural Cleanse's scan ~30 min, the rows ~35 min on one core).
_base_ = ['./cifar10_resnet20_cpu_backdoor_trigger_sizes.py']
benchmark = dict(figures=[],  # one point: nothing to draw against a grid key
                 grid=None, out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_3x3')
