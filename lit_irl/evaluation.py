"""Policy evaluation: deterministic episodes on separate envs, true return.

Built on the one env loop (:class:`lit_irl.data.collect.EnvRunner`): evaluation episode ``i``
starts from the same state at every evaluation (``eval_seed(seed, i)``), which takes noise out of
the comparison between evaluations, and draws no random numbers from the training streams.
"""

from __future__ import annotations

from lit_irl.data.collect import EnvRunner, derive_seed
from lit_irl.envs import EnvConfig
from lit_irl.nn import Actor

EVAL_STREAM = 1_000_003  # seed component that separates evaluation episodes from training episodes
EVAL_ENVS = 10  # envs stepped together (one batched forward pass per step)


def eval_seed(seed: int, episode: int) -> int:
    return derive_seed(seed, EVAL_STREAM, episode)


class Evaluator:
    """Runs given evaluation episodes of a learner (its ``seed``) with a deterministic actor."""

    def __init__(self, env_config: EnvConfig, seed: int, num_envs: int = EVAL_ENVS) -> None:
        self.env_config, self.seed, self.num_envs = env_config, seed, num_envs
        self._runners: dict[int, EnvRunner] = {}

    def run(self, actor: Actor, episodes: list[int], deterministic: bool = True) -> list[tuple[float, int]]:
        """(true return, length) of each evaluation episode in ``episodes``, in that order."""
        if not episodes:
            return []
        n = min(len(episodes), self.num_envs)
        if n not in self._runners:  # envs are kept: building MuJoCo models costs more than an episode's first steps
            self._runners[n] = EnvRunner(self.env_config, self.seed, num_envs=n)
        runner = self._runners[n]
        runner.episode = 0
        runner.episode_seed = lambda k: eval_seed(self.seed, episodes[k])
        results = runner.run_episodes(actor, episodes=len(episodes), deterministic=deterministic, record=False)
        return [(episode.episode_return, episode.length) for episode in results]

    def close(self) -> None:
        for runner in self._runners.values():
            runner.close()
        self._runners.clear()

