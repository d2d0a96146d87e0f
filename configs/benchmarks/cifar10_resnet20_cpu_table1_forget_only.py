# The part of cifar10_resnet20_cpu_table1.py within reach of 2 CPU cores: every method that reads only the
# forget data (the paper's white rows), plus Influence Unlearn's WoodFisher variant, whose remaining data is a
# fixed 1,000-image sample. Measured on one core: 3.5-16 min per run (evaluation included), except the two
# Learn-to-Unlearn rows, whose adversarial inner loop makes a run ~55 min. The grey rows (Finetune, SCRUB,
# Fisher, Bad Teacher and SalUn with remaining data) read the 45,000 remaining images: run the full config.
# Same out_dir as the full table, so its finished cells are reused there.
_base_ = ['./cifar10_resnet20_cpu_table1.py']
benchmark = dict(
    methods=[
        '../_base_/methods/random_label.py',
        '../_base_/methods/negative_gradient.py',
        '../_base_/methods/boundary_shrink.py',
        '../_base_/methods/boundary_expand.py',
        '../_base_/methods/influence.py',
        '../_base_/methods/influence_woodfisher.py',
        '../_base_/methods/l2ul.py',
        '../_base_/methods/l2ul_importance.py',
        '../_base_/methods/bad_teacher.py',
        '../_base_/methods/salun.py',
        '../_base_/methods/delete.py',
    ],
    threads=1,
)
