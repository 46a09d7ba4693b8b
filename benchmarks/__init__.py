"""Speed, time-budget and port-check scripts; their logic is in :mod:`benchmarks.lib`."""
