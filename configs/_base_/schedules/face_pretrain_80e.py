# The face pretraining stage (SPEC.md §5.1): the pretraining identities, SGD lr 0.01, momentum 0.9, weight decay
# 5e-4, StepLR 40 (x0.1), batch 64, 80 epochs; best epoch by the pretraining identities' test accuracy.
pretrain_schedule = dict(
    max_epochs=80,
    batch_size=64,
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)),
    param_scheduler=dict(type='StepLR', by_epoch=True, step_size=40, gamma=0.1),
    log_interval=50,
)
pretrained_checkpoint = None  # your own pretrained network instead (ours, or facenet-pytorch's vggface2 file)
