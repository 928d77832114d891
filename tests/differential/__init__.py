"""Differential testing of s2sad: random programs (generator.py) checked entry point against entry
point and against oracles that share no code with s2sad (oracles.py, checks.py); the pytest entry
is test_differential.py."""
