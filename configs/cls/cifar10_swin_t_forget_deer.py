# Table 2's Swin-T row: forget deer on CIFAR-10 at 224 px, from scratch (SPEC.md §4.3), batch 64, reference
# models 100 epochs at lr 0.01, unlearning lr 5e-5 (SPEC.md §1.4). GPU-sized.
_base_ = [
    '../_base_/datasets/cifar10.py', '../_base_/models/swin_t.py', '../_base_/methods/delete.py',
    '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
task = dict(dataset=dict(image_size=224))
forget_classes = ['deer']
train_schedule = dict(max_epochs=100, batch_size=64, optim_wrapper=dict(optimizer=dict(lr=0.01)))
schedule = dict(batch_size=64, optim_wrapper=dict(optimizer=dict(lr=5e-5)))
work_dir = 'work_dirs/cifar10_swin_t_forget_deer'
