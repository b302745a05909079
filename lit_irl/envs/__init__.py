"""Environment layer: gymnasium MuJoCo v5 envs with one explicit termination policy."""

from lit_irl.envs.make import (
    SUPPORTED_ENVS,
    TERMINATIONS,
    EnvConfig,
    EnvSpecInfo,
    TerminationPolicy,
    get_env_state,
    make_env,
    probe_env,
    set_env_state,
)

__all__ = [
    "SUPPORTED_ENVS",
    "TERMINATIONS",
    "EnvConfig",
    "EnvSpecInfo",
    "TerminationPolicy",
    "get_env_state",
    "make_env",
    "probe_env",
    "set_env_state",
]
