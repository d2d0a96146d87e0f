# The rows of cifar10_resnet20_cpu_table1.py that carry its conclusion, for checking it on another original
# model or machine in about an hour on 2 CPU cores (one process per core): DELETE, the best method that reads
# only forget data (Boundary Expand) and the best that reads remaining data (SCRUB (R)), three seeds.
# Measured on one core per run: DELETE ~8.5 min, Boundary Expand ~6.5, SCRUB (R) 13-18, plus ~3 of evaluation.
# Same setting and out_dir as the full table, so their finished cells are shared.
_base_ = ['../cls/cifar10_resnet20_cpu_forget_deer.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    methods=['../_base_/methods/delete.py', '../_base_/methods/boundary_expand.py', '../_base_/methods/scrub.py'],
    seeds=[2022, 2023, 2024],
    threads=1,
    out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_table1')
