# Does bf16 change DELETE's results (issue #17)? DELETE on the CPU CIFAR-10 setting of cifar10_resnet20_cpu_table1.py
# (ResNet-20, forget deer) in fp32 and in bf16 autocast, three seeds each, on the same fp32 original and oracle:
# those in docs/results/checkpoints/ (copy them into the cache first). The fp32 cells are Table 1's DELETE cells (a
# precision at its default leaves a cell's hash as it was: `--merge` its CSV to reuse them); the bf16 cells name the
# same two files as their own checkpoints, so nothing is retrained in bf16. Evaluation runs in the cell's precision.
_base_ = ['../cls/cifar10_resnet20_cpu_forget_deer.py', '../_base_/benchmarks/table5_ablation.py']
precision = 'fp32'  # the grid's values below
schedule = dict(curve_interval=0)
benchmark = dict(
    grid=[{'precision': ['fp32']},
          {'precision': ['bf16'],
           'original_checkpoint': ['work_dirs/checkpoints/original-CifarResNet-b241542959e52c52.pth'],
           'retrain_checkpoint': ['work_dirs/checkpoints/retrain-CifarResNet-642354889a43117e.pth']}],
    figures=[], threads=1, out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_precision')
