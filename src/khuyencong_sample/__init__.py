"""Deterministic sample submissions for demos, tests and benchmarks (never imported by the runtime package)."""
