"""MLPs and ensembles of MLPs evaluated as one batched matmul.

On CPU at the small sizes of this field, Python and dispatch overhead dominate; an ensemble of
K members as one ``baddbmm`` per layer costs about as much as one member, which is
why twin critics and world-model ensembles are built on :class:`EnsembleMLP`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from lit_irl.errors import LitIRLError, check_positive

Activation = Literal["relu", "tanh", "silu", "elu"]
ROW_CHUNK = 2048  # rows per pass of EnsembleMLP (see its forward)
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "elu": nn.ELU}


def activation(name: str) -> type[nn.Module]:
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise LitIRLError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}") from None


def activation_layer(name: str) -> nn.Module:
    """The activation module placed after a linear layer. ReLU works in place there: the linear
    layer's backward needs its input, not its output, and ReLU's backward reads its own result
    (the SAC update is 1.04x faster, the results identical; measured in one process)."""
    layer = activation(name)
    return layer(inplace=True) if layer is nn.ReLU else layer()


class OutputLinear(nn.Linear):
    """The last layer of an MLP: computed in float32 even under mixed precision (``trainer.precision:
    bf16-mixed``). The hidden layers' matmuls are where bfloat16 pays (1.75x a SAC update on a CPU with
    AVX512-BF16 with this layer in fp32, ``tools/bench_throughput.py --only sac``); the outputs are the values learning reads
    (Q-values near 300 would be rounded to steps of 1-2, rewards to 0.4%, an action's mean and log-std),
    and this layer is a small part of the work."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return full_precision(F.linear, x, self.weight, self.bias)


def full_precision(function: Callable[..., torch.Tensor], x: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
    """``function(x, *args)`` outside autocast, with ``x`` in float32 (a no-op without autocast)."""
    if not torch.is_autocast_enabled(x.device.type):
        return function(x, *args)
    with torch.autocast(x.device.type, enabled=False):
        return function(x.float(), *args)


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, act: str = "relu", linear_first_layer: bool = False) -> nn.Sequential:
    """Plain MLP ``in_dim -> hidden... -> out_dim`` with ``act`` between layers (not after the
    first hidden layer with ``linear_first_layer``)."""
    check_positive(in_dim=in_dim, hidden_sizes=list(hidden), out_dim=out_dim)
    dims = [in_dim, *hidden]
    layers: list[nn.Module] = []
    for index, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        layers.append(nn.Linear(d_in, d_out))
        if index > 0 or not linear_first_layer:
            layers.append(activation_layer(act))
    layers.append(OutputLinear(dims[-1], out_dim))
    return nn.Sequential(*layers)


class EnsembleLinear(nn.Module):
    """K independent linear layers applied as one batched matmul: ``(K, B, in) -> (K, B, out)``."""

    def __init__(self, members: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim))
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim))
        # Same init as nn.Linear, per member, so an ensemble member is distributed like an MLP.
        bound = 1.0 / math.sqrt(in_dim)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight.shape[-1] == 1:
            # A scalar head (Q-values): CPU baddbmm with one output column takes a slow non-GEMM path,
            # 5x a broadcast multiply-and-sum forward and 1.8x forward + backward (2 x 256 x 256 -> 1,
            # 1 thread; tools/bench_throughput.py --only sac shows the whole SAC update).
            return (x * self.weight.transpose(1, 2)).sum(-1, keepdim=True) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleMLP(nn.Module):
    """K MLPs with the same shape; input ``(B, in)`` (shared) or ``(K, B, in)``, output ``(K, B, out)``."""

    def __init__(self, members: int, in_dim: int, hidden: Sequence[int], out_dim: int, act: str = "relu") -> None:
        super().__init__()
        check_positive(members=members, in_dim=in_dim, hidden_sizes=list(hidden), out_dim=out_dim)
        self.members = members
        dims = [in_dim, *hidden, out_dim]
        self.layers = nn.ModuleList(EnsembleLinear(members, a, b) for a, b in itertools.pairwise(dims))
        self.act = activation_layer(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[-2]
        if rows > ROW_CHUNK:
            # Measured on CPU (1 thread, 7 members, 4 x 200): at 10,000 rows one pass per layer over all rows is
            # 1.7x slower than passes over 2048-row chunks, whose activations stay in cache (model rollouts).
            return torch.cat([self(x[..., start : start + ROW_CHUNK, :]) for start in range(0, rows, ROW_CHUNK)], dim=-2)
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.members, -1, -1)
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
        return full_precision(self.layers[-1], x)  # see OutputLinear
