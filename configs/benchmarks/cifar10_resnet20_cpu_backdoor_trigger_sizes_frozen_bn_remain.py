# DELETE (R) with its remaining-data pass in BatchNorm eval mode (delete_remain_frozen_bn.py) as a defense: Neural
# Cleanse's trigger on the 4x4 and 5x5 originals of the trigger-size grid (the cache: the originals, the oracle and
# the scans are read, each cell is one unlearning run of ~10 min on one core). The variants benchmark
# (cifar10_resnet20_cpu_backdoor_delete_variants.py) measures it with the attack's own trigger.
_base_ = ['./cifar10_resnet20_cpu_backdoor_trigger_sizes.py']
benchmark = dict(
    methods=['{{ fileDirname }}/../_base_/methods/delete_remain_frozen_bn.py'],
    grid=[{'task.attack.size': [4, 5]}],
    figures=[],
    out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_trigger_sizes_frozen_bn_remain',
)
