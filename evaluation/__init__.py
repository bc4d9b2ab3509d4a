"""Evaluation runs: win-rate and the interactive MediQ simulation (no issue yet)."""
