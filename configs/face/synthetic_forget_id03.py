# Forget one identity (person_03) of the synthetic faces with DELETE: pretrain a CIFAR ResNet-20 on 6 identities,
# finetune it on 10, unlearn one. The embedded face default: no download, about a minute on 2 CPU cores.
_base_ = [
    '../_base_/face/synthetic.py', '../_base_/models/resnet20_cifar.py', '../_base_/methods/delete.py',
    '../_base_/schedules/face_pretrain_80e.py', '../_base_/schedules/face_finetune_40e.py',
    '../_base_/default_runtime.py',
]
forget_classes = ['person_03']
# 168 pretraining and 280 finetuning images: short recipes reach high accuracy.
pretrain_schedule = dict(max_epochs=30, batch_size=32, param_scheduler=dict(step_size=20), log_interval=10)
train_schedule = dict(max_epochs=15, batch_size=32, log_interval=10)
# Unlearning: 20 epochs, batches of 16 of the 28 forget images, lr 2e-4 (on one original, the official 5e-5 left
# 8% of the forgotten faces recognised; 5e-4 dropped the remaining identities to 44%). disable_bn departs from the
# official code (SPEC.md §1.5): on batches of one identity, batch-norm statistics drift to that identity's. Over six
# originals (configs/benchmarks/synthetic_face_originals.py) frozen statistics leave no forgotten face verified
# (TAR_f 0 on all six; up to 16.7 with them updated) and keep the others about as well (mean Acc_rt 79.0 vs 81.3).
schedule = dict(batch_size=16, disable_bn=True, optim_wrapper=dict(optimizer=dict(lr=2e-4)))
work_dir = 'work_dirs/synthetic_forget_id03'
