"""Networks shared by every algorithm: MLPs, ensembles (twin critics, world models), actors."""

from lit_irl.nn.actor import TanhGaussianActor
from lit_irl.nn.mlp import EnsembleLinear, EnsembleMLP, mlp

__all__ = ["EnsembleLinear", "EnsembleMLP", "TanhGaussianActor", "mlp"]
