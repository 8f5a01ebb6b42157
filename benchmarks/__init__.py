"""runner-identity's benchmarks: `python -m benchmarks.run` writes benchmarks/RESULTS.md."""
