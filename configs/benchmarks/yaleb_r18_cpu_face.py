# The face experiment's table (SPEC.md §5.1's appendix table) on Extended Yale B within reach of a CPU: forget
# yaleB34 from the ResNet-18 at 112 px, every method, three unlearning seeds, all from one cached pretrained
# backbone, original and oracle (yaleb_r18_cpu_forget_yaleB34.py). The verification columns (TAR_f, TAR_r at the
# original's 1% FAR threshold) come from the face evaluator. Results and timings: docs/results.md.
_base_ = ['../face/yaleb_r18_cpu_forget_yaleB34.py', '../_base_/benchmarks/table1_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    columns=['acc_f', 'acc_r', 'acc_ft', 'acc_rt', 'h_mean', 'mia', 'tar_f', 'tar_r', 'time_s', 'speedup'],
    figures=['seed_boxplot'],
    threads=1,
    out_dir='work_dirs/benchmarks/yaleb_r18_cpu_face',
)
