# DELETE and DELETE (R) of cifar10_resnet20_cpu_backdoor_3x3.py with the attack's true trigger and target instead of
# Neural Cleanse's (KnownTrigger): the upper bound that isolates the unlearning from the recovery.
_base_ = ['./cifar10_resnet20_cpu_backdoor_3x3.py']
recovery = dict(_delete_=True, type='KnownTrigger')
benchmark = dict(
    methods=['{{ fileDirname }}/../_base_/methods/delete.py', '{{ fileDirname }}/../_base_/methods/delete_remain.py'],
    out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_3x3_known_trigger',
)
