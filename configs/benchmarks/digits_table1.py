# Table 1's layout on the embedded default (digits, DigitsCNN, forget "three"): every method, three seeds,
# a few minutes on 2 CPU cores. The schedule is the default's (20 epochs, lr 2e-3) without curves.
_base_ = ['../cls/digits_forget_3.py', '../_base_/benchmarks/table1_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    threads=1,  # 8x8 images: intra-op threads only add overhead (several times slower on a busy machine)
    figures=['seed_boxplot'],
    out_dir='work_dirs/benchmarks/digits_table1',
)
