"""Benchmarks (`make bench`): timing goals live here, never in `make test`."""
