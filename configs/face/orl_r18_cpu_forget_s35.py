# Forget s35 (label 4) from a ResNet-18 at 112 px on ORL, with DELETE: SPEC.md §5.1's recipes on 30 + 10
# identities. Measured in docs/results.md (one thread: pretraining 11 min, original and oracle 2 min each).
_base_ = [
    '../_base_/face/orl.py', '../_base_/models/resnet18.py', '../_base_/methods/delete.py',
    '../_base_/schedules/face_pretrain_80e.py', '../_base_/schedules/face_finetune_40e.py',
    '../_base_/default_runtime.py',
]
forget_classes = ['s35']
work_dir = 'work_dirs/orl_r18_cpu_forget_s35'
