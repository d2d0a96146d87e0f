# Table 2's ViT-S/16 row: forget deer on CIFAR-10 at 224 px, from scratch (SPEC.md §4.3), reference models
# 150 epochs at lr 0.1, unlearning lr 5e-5 (SPEC.md §1.4). GPU-sized.
_base_ = [
    '../_base_/datasets/cifar10.py', '../_base_/models/vit_s16.py', '../_base_/methods/delete.py',
    '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
task = dict(dataset=dict(image_size=224))
forget_classes = ['deer']
schedule = dict(optim_wrapper=dict(optimizer=dict(lr=5e-5)))
work_dir = 'work_dirs/cifar10_vit_s16_forget_deer'
