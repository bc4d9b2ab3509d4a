"""Training runs (DPO, SFT, reward models) from dataset versions, their metrics, and the models they register."""
