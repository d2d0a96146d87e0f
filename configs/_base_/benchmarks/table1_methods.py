# The rows of the paper's Table 1 (SPEC.md §6.1), in its order, plus the two variants the paper leaves out
# (Influence Unlearn with remaining data, L2UL with its importance term); three unlearning seeds.
# {{ fileDirname }} makes the paths work from any benchmark config that inherits this file.
benchmark = dict(
    methods=[
        '{{ fileDirname }}/../methods/random_label.py',
        '{{ fileDirname }}/../methods/negative_gradient.py',
        '{{ fileDirname }}/../methods/boundary_shrink.py',
        '{{ fileDirname }}/../methods/boundary_expand.py',
        '{{ fileDirname }}/../methods/influence.py',
        '{{ fileDirname }}/../methods/influence_woodfisher.py',
        '{{ fileDirname }}/../methods/l2ul.py',
        '{{ fileDirname }}/../methods/l2ul_importance.py',
        '{{ fileDirname }}/../methods/bad_teacher.py',
        '{{ fileDirname }}/../methods/bad_teacher_retain.py',
        '{{ fileDirname }}/../methods/salun.py',
        '{{ fileDirname }}/../methods/salun_retain.py',
        '{{ fileDirname }}/../methods/fisher.py',
        '{{ fileDirname }}/../methods/scrub.py',
        '{{ fileDirname }}/../methods/finetune.py',
        '{{ fileDirname }}/../methods/delete.py',
    ],
    seeds=[2022, 2023, 2024],
)
