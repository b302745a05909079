"""Networks shared by every algorithm: MLPs, ensembles (twin critics, world models), actors."""

from lit_irl.nn.actor import (
    Actor,
    DeterministicActor,
    GaussianActor,
    ObservationNormalizer,
    TanhGaussianActor,
    build_actor,
    orthogonal_init,
)
from lit_irl.nn.mlp import Activation, EnsembleLinear, EnsembleMLP, activation, mlp

__all__ = [
    "Activation",
    "Actor",
    "DeterministicActor",
    "EnsembleLinear",
    "EnsembleMLP",
    "GaussianActor",
    "ObservationNormalizer",
    "TanhGaussianActor",
    "activation",
    "build_actor",
    "mlp",
    "orthogonal_init",
]
