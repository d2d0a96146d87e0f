# A CPU-affordable version of Table 1's CIFAR-10 row: forget deer with DELETE, on He et al.'s ResNet-20
# (13x fewer FLOPs than the CIFAR-stem ResNet-18, ~5-8x faster on CPU) and a short recipe (6 epochs, lr 0.1
# then 0.01 from epoch 5), so original + retrain + DELETE finish on 2 CPU cores in about half an hour.
# The unlearning schedule is the paper's (SPEC.md §1.4: 20 epochs, SGD lr 1e-4, momentum 0.9, batch 128).
_base_ = [
    '../_base_/datasets/cifar10_folder.py', '../_base_/models/resnet20_cifar.py', '../_base_/methods/delete.py',
    '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
forget_classes = ['deer']
train_schedule = dict(max_epochs=6, param_scheduler=dict(step_size=4), log_interval=100)
schedule = dict(optim_wrapper=dict(optimizer=dict(lr=1e-4)))
work_dir = 'work_dirs/cifar10_resnet20_cpu_forget_deer'
