"""Networks shared by every algorithm: MLPs, ensembles (twin critics, world models), actors."""

from lit_irl.nn.actor import TanhGaussianActor
from lit_irl.nn.mlp import Activation, EnsembleLinear, EnsembleMLP, activation, mlp

__all__ = ["Activation", "EnsembleLinear", "EnsembleMLP", "TanhGaussianActor", "activation", "mlp"]
