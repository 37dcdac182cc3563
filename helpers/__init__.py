"""Helpers for the notebook series on residual connections.

One module per concept; each module's docstring names the notebook that
introduces it. Importing the package or any module has no side effects: no
seeding, no plotting style, no printing.
"""

__version__ = "0.1.0"
