# scikit-learn's handwritten digits (1,797 8x8 images, ships with scikit-learn): the embedded default.
custom_imports = dict(imports=['tasks.classification'])  # the task's package registers it
task = dict(
    type='ClassificationTask',
    dataset=dict(type='Digits'),
    eval_batch_size=512,
    eval_train_augmented=True,  # Acc_f / Acc_r / MIA on augmented training images, as the official code
)
