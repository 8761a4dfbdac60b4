"""The one thing pyproject.toml cannot say without an experimental table: the columnar engine's
loops, compiled ahead of time (Cython -> C), as an optional extension: an install without a C
compiler still succeeds and the engine runs its numpy path (batch_kernels.py)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("medpolicy._batch_loops", ["interpreter/_batch_loops.pyx"], optional=True)])
