"""Benchmarks of cachewarden.docker side by side with its peers (``make bench``); not part of ``make test``."""
