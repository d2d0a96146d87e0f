"""Tasks: each package maps one task onto the class dimension and registers its adapter, evaluator, models and
data when a config imports it (``custom_imports = dict(imports=['tasks.<name>'])``); importing this package
imports none of them, so a task's optional dependencies are loaded only by its own configs."""
