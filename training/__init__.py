"""DPO training runs (no issue yet)."""
