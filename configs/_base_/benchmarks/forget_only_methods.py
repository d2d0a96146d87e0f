# The forget-data-only methods, in Table 4's order (SPEC.md §6.3-6.4: the rows of Tables 3 and 4), three seeds.
benchmark = dict(
    methods=[
        '{{ fileDirname }}/../methods/random_label.py',
        '{{ fileDirname }}/../methods/negative_gradient.py',
        '{{ fileDirname }}/../methods/boundary_shrink.py',
        '{{ fileDirname }}/../methods/boundary_expand.py',
        '{{ fileDirname }}/../methods/influence.py',
        '{{ fileDirname }}/../methods/l2ul.py',
        '{{ fileDirname }}/../methods/bad_teacher.py',
        '{{ fileDirname }}/../methods/salun.py',
        '{{ fileDirname }}/../methods/delete.py',
    ],
    seeds=[2022, 2023, 2024],
)
