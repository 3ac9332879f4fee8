"""Load benchmarks: Tocsin (SQLite, Redis) against Alertmanager 0.25 on identical requests.

Run with ``make bench`` or ``python -m bench --help``; bench/README.md explains the numbers.
"""
