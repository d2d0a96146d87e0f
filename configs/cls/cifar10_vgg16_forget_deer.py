# Table 2's VGG16-BN row: forget deer on CIFAR-10 at 32 px (SPEC.md §4.2-4.3), reference models 80 epochs at
# lr 0.01, unlearning lr 5e-5 (SPEC.md §1.4). GPU-sized.
_base_ = [
    '../_base_/datasets/cifar10.py', '../_base_/models/vgg16_bn.py', '../_base_/methods/delete.py',
    '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
forget_classes = ['deer']
train_schedule = dict(max_epochs=80, optim_wrapper=dict(optimizer=dict(lr=0.01)))
schedule = dict(optim_wrapper=dict(optimizer=dict(lr=5e-5)))
work_dir = 'work_dirs/cifar10_vgg16_forget_deer'
