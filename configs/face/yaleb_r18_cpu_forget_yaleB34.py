# Forget yaleB34 (label 4, as in the official run) from the paper's ResNet-18 at 112 px on Extended Yale B, with
# DELETE. The recipes are SPEC.md §5.1's (pretrain 80 epochs, finetune 40, unlearn 20 at lr 5e-5). Not run yet in
# this repository: no figure of its cost or outcome exists (issue #15).
_base_ = [
    '../_base_/face/yaleb.py', '../_base_/models/resnet18.py', '../_base_/methods/delete.py',
    '../_base_/schedules/face_pretrain_80e.py', '../_base_/schedules/face_finetune_40e.py',
    '../_base_/default_runtime.py',
]
forget_classes = ['yaleB34']
work_dir = 'work_dirs/yaleb_r18_cpu_forget_yaleB34'
