"""The measuring logic behind benchmarks/*.py (imported by the scripts and
the tests): time-budget calibration, runner-vs-bare throughput, step cost
(FLOPs, matmul peak, profiles) and the ImageNet port check."""
