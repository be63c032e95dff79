"""Speed benchmarks and statistical studies; not tests, not run by default.

Run one with ``python -m benchmarks <name>`` (``python -m benchmarks --list`` names them). Each
writes ``benchmarks/results/<name>.json`` and ``<name>.md``.
"""
