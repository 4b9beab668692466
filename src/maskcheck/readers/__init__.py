"""Readers: one module per annotation format, and the code that finds and reads datasets.

This package imports none of its modules, so that importing one (`readers.coco`) never
loads every format. The format list is readers/formats.py; finding datasets under a path
and reading them, plugin readers included, is readers/reading.py (`read_all`, `detect`);
folder search is readers/discover.py.
"""
