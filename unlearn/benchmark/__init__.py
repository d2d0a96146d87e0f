"""Benchmarks: grids of unlearning runs (methods x forget sets x seeds x any config key) -> the paper's tables.

See :mod:`unlearn.benchmark.grid` for the config format and :mod:`unlearn.benchmark.run` for what a
benchmark writes. Entry point: ``python tools/benchmark.py CONFIG``.
"""
from .figures import draw_figures, forget_set_size_plot, seed_boxplot, sweep_plot
from .grid import Cell, expand_grid, grid_points
from .run import BenchmarkResult, finished_run, run_benchmark
from .tables import aggregate, latex_tables, markdown_tables, read_results, results_csv

__all__ = ['BenchmarkResult', 'Cell', 'aggregate', 'draw_figures', 'expand_grid', 'finished_run',
           'forget_set_size_plot', 'grid_points', 'latex_tables', 'markdown_tables', 'read_results',
           'results_csv', 'run_benchmark', 'seed_boxplot', 'sweep_plot']
