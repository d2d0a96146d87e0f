# Table 5 (SPEC.md §1.9, §6.5): DELETE's target keeping alpha of the forget class's mass (alpha = 0 is DELETE),
# and its retained classes at temperature T (T = 1 is DELETE), three seeds. The ablation is reconstructed from
# the paper (the official function is missing).
benchmark = dict(
    methods=['{{ fileDirname }}/../methods/delete.py'],
    seeds=[2022, 2023, 2024],
    grid=[{'method.alpha': [0.0, 0.25, 0.5, 0.75]}, {'method.temperature': [5.0, 10.0, 15.0]}],
    columns=['acc_f', 'acc_r', 'acc_ft', 'acc_rt', 'h_mean'],
    figures=['sweep'],  # sweep.png: the metrics against alpha and against T
)
