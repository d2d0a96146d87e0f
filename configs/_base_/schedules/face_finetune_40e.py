# Finetuning the pretrained network on the finetuned identities (SPEC.md §5.1): the whole network, 40 epochs,
# no learning-rate schedule, best epoch by test accuracy; the original model and the oracle (without the forgotten
# identity) alike. Unlearning: the official 20 epochs at lr 5e-5.
train_schedule = dict(
    max_epochs=40,
    batch_size=64,
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)),
    param_scheduler=None,
    seed=2022,
    log_interval=50,
)
schedule = dict(
    max_epochs=20,
    batch_size=64,
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=5e-5, momentum=0.9, weight_decay=0.0)),
    disable_bn=False,
    freeze_classifier=False,
    curve_interval=1,
    curve_samples=256,
    log_interval=10,
)
