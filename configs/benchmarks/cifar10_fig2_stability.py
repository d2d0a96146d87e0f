# Fig. 2 (SPEC.md §4.5): stability over five unlearning seeds, CIFAR-10 ResNet-18, forget deer, the
# forget-only methods; a box per method of Acc_ft and Acc_rt (seed_boxplot.png). GPU-sized.
_base_ = ['../cls/cifar10_forget_deer.py', '../_base_/benchmarks/forget_only_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    seeds=[2022, 2023, 2024, 2025, 2026],
    figures=['seed_boxplot'],
    out_dir='work_dirs/benchmarks/cifar10_fig2_stability',
)
