"""Output formats over one Report. Each reporter returns text; only the CLI writes it.

This package imports none of its modules: the format list is reporters/formats.py, and
writing the reports a run asked for (plugin reporters included) is reporters/outputs.py.
"""
