# DELETE at every trigger size of cifar10_resnet20_cpu_backdoor_trigger_sizes.py with the attack's true trigger and
# target (KnownTrigger) instead of Neural Cleanse's: the upper bound that isolates the unlearning from the recovery
# (issue #16's "DELETE + KnownTrigger" row). It reads the originals and the oracle that grid trained (the cache),
# so each cell is one DELETE run (~4 min on one core).
_base_ = ['./cifar10_resnet20_cpu_backdoor_trigger_sizes.py']
recovery = dict(_delete_=True, type='KnownTrigger')
benchmark = dict(
    methods=['{{ fileDirname }}/../_base_/methods/delete.py'],
    grid=[{'task.attack.size': [1, 2, 3, 4, 5]}],
    figures=[],
    out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_trigger_sizes_known_trigger',
)
