"""Corpus models for synthesis: attribute catalogue, templates, rewrites, verification and preference pairs."""
