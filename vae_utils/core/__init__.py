"""The model and its data: datasets (download, checks, splits), the dynamic MLP, losses, samplers."""
