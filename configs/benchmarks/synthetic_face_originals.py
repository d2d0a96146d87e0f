# How much DELETE's outcome on the synthetic face default depends on the original model it starts from, and on
# how many images of the person there are to unlearn on. Six originals, each pretrained and finetuned under its
# own seed (its oracle too); DELETE with the default's recipe (batch-norm statistics frozen) and with the official
# code's (statistics updated, SPEC.md §1.5) on each; then the same six seeds on faces drawn with 120 images per
# identity (100 to train on, so 100 forget images instead of 28). A machine with another CPU or thread count
# trains a different original from the same seed, so this spread, not one run, is what the default can promise.
# Results: README "Face recognition" and docs/results.md.
_base_ = ['../face/synthetic_forget_id03.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    grid=[
        {'train_schedule.seed': [2022, 1, 2, 3, 4, 5], 'schedule.disable_bn': [True, False]},
        {'train_schedule.seed': [2022, 1, 2, 3, 4, 5], 'task.dataset.images_per_identity': [120],
         'task.dataset.per_identity': [(100, 20)], 'task.dataset.root': ['data/synthetic_faces_120']},
    ],
    columns=['acc_ft', 'acc_rt', 'h_mean', 'tar_f', 'tar_r', 'time_s'],
    threads=1,
    out_dir='work_dirs/benchmarks/synthetic_face_originals',
)
