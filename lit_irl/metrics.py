"""torchmetrics used across algorithms."""

from __future__ import annotations

import torch
from torchmetrics import Metric


class ReturnStats(Metric):
    """Mean, standard deviation and count of episode returns, summed across DDP ranks."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total_sq", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, returns: torch.Tensor) -> None:
        returns = torch.as_tensor(returns, dtype=torch.float64).flatten()
        self.total += returns.sum()
        self.total_sq += returns.pow(2).sum()
        self.count += returns.numel()

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.count.clamp(min=1)
        mean = self.total / n
        var = (self.total_sq / n - mean.pow(2)).clamp(min=0.0)
        return {"mean": mean.float(), "std": var.sqrt().float(), "count": self.count}
