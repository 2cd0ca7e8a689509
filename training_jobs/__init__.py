"""Training and evaluation jobs: the dataset loader, metrics and one script per job."""
