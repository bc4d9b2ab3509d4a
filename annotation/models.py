"""Annotation campaigns, judgments, agreement and gold labels."""
