"""Evaluation (LFW verification, WIDER detection) and benchmarks, reproducible from the CLI."""
