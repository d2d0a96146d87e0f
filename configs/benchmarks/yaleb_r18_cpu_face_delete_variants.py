# Why DELETE loses the remaining identities on Yale B (docs/results.md): the official DELETE run beside the
# variants that switch off one suspected cause each. Batch-norm statistics drifting to the forgotten person's
# (disable_bn=True keeps the original's), the head moving (freeze_classifier=True), both, and a softer teacher
# (temperature 4: the target spreads the forgotten person's mass over more identities). One seed each.
_base_ = ['../face/yaleb_r18_cpu_forget_yaleB34.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    grid=[
        {'schedule.disable_bn': [False, True], 'schedule.freeze_classifier': [False, True]},
        {'method.temperature': [4.0]},
    ],
    columns=['acc_ft', 'acc_rt', 'h_mean', 'tar_f', 'tar_r', 'time_s'],
    threads=1,
    out_dir='work_dirs/benchmarks/yaleb_r18_cpu_face_delete_variants',
)
