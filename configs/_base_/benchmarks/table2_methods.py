# Table 2's rows (SPEC.md §6.2): Boundary Shrink against DELETE on each architecture, three seeds.
benchmark = dict(
    methods=['{{ fileDirname }}/../methods/boundary_shrink.py', '{{ fileDirname }}/../methods/delete.py'],
    seeds=[2022, 2023, 2024],
)
