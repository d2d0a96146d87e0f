# The official unlearning schedule (SPEC.md §1.4): SGD momentum 0.9, no weight decay, no LR schedule,
# 20 epochs over the forget data. lr is per dataset (1e-4 CIFAR-10, 5e-5 otherwise): leaf configs set it.
schedule = dict(
    max_epochs=20,
    batch_size=128,
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=0.0)),
    disable_bn=False,          # SPEC.md §1.5: True only for Tiny ImageNet single-class runs
    freeze_classifier=False,   # SPEC.md §1.6 / Table 3
    curve_interval=1,          # unlearning curves every epoch on small fixed samples (0 = off)
    curve_samples=256,
    log_interval=10,
)
