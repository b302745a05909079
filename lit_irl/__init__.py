"""lit_irl: learning rewards and policies from demonstrations, on PyTorch Lightning."""

__version__ = "0.1.0"
