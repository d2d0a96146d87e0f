# The official face experiment (SPEC.md §5.1, Fig. 5): forget VGGFace2 identity n001841 (label 4 in the official
# run) from the paper's ResNet-18 at 224 px with DELETE. Pretrain 80 epochs on 100 identities, finetune the whole
# network 40 epochs on the next 10, unlearn 20 epochs at lr 5e-5, batch 64. A GPU config: about 44 000 images at
# 224 px per pretraining epoch. Not run in this repository (no VGGFace2 copy here); the Yale B config is the CPU
# twin with results in docs/results.md.
_base_ = [
    '../_base_/face/vggface2.py', '../_base_/models/resnet18.py', '../_base_/methods/delete.py',
    '../_base_/schedules/face_pretrain_80e.py', '../_base_/schedules/face_finetune_40e.py',
    '../_base_/default_runtime.py',
]
forget_classes = ['n001841']
work_dir = 'work_dirs/vggface2_forget_n001841'
