# Where DELETE's backdoor erasure lives, and why it costs the target class's clean accuracy (docs/results.md): DELETE
# with the attack's own trigger on the 4x4 and 5x5 originals of the trigger-size grid (the cache: one unlearning run
# per cell), beside variants that switch off one suspected cause each. BatchNorm statistics re-estimated on the
# stamped forget set (disable_bn=True keeps the original's), the head moving (freeze_classifier=True), and a pass
# over the defender's clean images (DELETE (R)) with and without its own BatchNorm statistics.
_base_ = ['./cifar10_resnet20_cpu_backdoor_trigger_sizes_known_trigger.py']
benchmark = dict(
    methods=[
        '{{ fileDirname }}/../_base_/methods/delete.py',
        dict(type='DELETE', schedule=dict(disable_bn=True)),
        dict(type='DELETE', schedule=dict(freeze_classifier=True)),
        '{{ fileDirname }}/../_base_/methods/delete_remain.py',
        '{{ fileDirname }}/../_base_/methods/delete_remain_frozen_bn.py',
    ],
    grid=[{'task.attack.size': [4, 5]}],
    out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_delete_variants',
)
