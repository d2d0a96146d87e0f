# The official recipe of the original model and the retrain oracle (SPEC.md §4.4): SGD momentum 0.9,
# weight decay 5e-4, StepLR(40, 0.1) per epoch, best epoch by test accuracy.
train_schedule = dict(
    max_epochs=150,
    batch_size=128,
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)),
    param_scheduler=dict(type='StepLR', by_epoch=True, step_size=40, gamma=0.1),
    seed=2022,
    log_interval=50,
)
