# The face experiment's table on ORL (AT&T faces): forget s35 from the ResNet-18 at 112 px, every method, one
# unlearning seed, from the cached pretrained backbone, original and oracle of orl_r18_cpu_forget_s35.py. The
# forget set is 7 training images (one step an epoch at batch 64). Results: docs/results.md.
_base_ = ['../face/orl_r18_cpu_forget_s35.py', '../_base_/benchmarks/table1_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    columns=['acc_f', 'acc_r', 'acc_ft', 'acc_rt', 'h_mean', 'mia', 'tar_f', 'tar_r', 'time_s', 'speedup'],
    seeds=[2022],
    threads=1,
    out_dir='work_dirs/benchmarks/orl_r18_cpu_face',
)
