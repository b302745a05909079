"""MOPO: model-based offline policy optimization (Yu et al. 2020), the policy step of Offline ML-IRL."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tensordict import TensorDict

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.offline import OfflineLearner
from lit_irl.algos.world_model import load_world_model, require_next_observations
from lit_irl.data.d4rl import load_dataset
from lit_irl.data.replay import TransitionReplay
from lit_irl.data.collect import derive_seed
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_fraction, check_positive
from lit_irl.models.penalties import check_penalty
from lit_irl.models.rollout import model_rollout
from lit_irl.models.termination import termination_of
from lit_irl.policy import SACConfig, SACPolicy
from lit_irl.rewards.models import load_reward


@dataclass
class MOPOConfig:
    """Model rollouts and the real / model mix of MOPO's SAC step.

    Attributes:
        rollout_length: model steps per rollout (h; MOPO's hopper: 5).
        penalty: uncertainty penalty ``u(s, a)`` (:data:`lit_irl.models.penalties.PENALTIES`).
        penalty_coef: lambda of the penalized reward ``r - lambda u`` (MOPO's hopper: 1).
        real_ratio: share of dataset rows in each SAC batch (MOPO: 0.05).
        rollout_batch: dataset states a rollout starts from (MOPO: 50,000).
        rollout_every: gradient steps between two rollouts (MOPO: 1000, an "epoch").
        retain_rollouts: rollouts the model buffer keeps (MOPO: 5 epochs' worth).
    """

    rollout_length: int = 5
    penalty: str = "max_aleatoric"
    penalty_coef: float = 1.0
    real_ratio: float = 0.05
    rollout_batch: int = 50_000
    rollout_every: int = 1_000
    retain_rollouts: int = 5

    def __post_init__(self) -> None:
        check_positive(rollout_length=self.rollout_length, rollout_batch=self.rollout_batch, rollout_every=self.rollout_every,
                       retain_rollouts=self.retain_rollouts)
        check_penalty(self.penalty)
        if self.penalty_coef < 0:
            raise LitIRLError(f"penalty_coef (lambda) must be >= 0, got {self.penalty_coef}; 0 turns the penalty off")
        check_fraction(real_ratio=self.real_ratio)


class MOPO(OfflineLearner):
    """MOPO on a transition dataset and a trained world model (``lit_irl.algos.WorldModel``).

    Every ``mopo.rollout_every`` gradient steps: the current policy is rolled out in the model for
    ``rollout_length`` steps from ``rollout_batch`` dataset states, ending rows where the real env
    would (:mod:`lit_irl.models.termination`); the rollouts enter a model buffer with their
    penalty ``u(s, a)``. Every gradient step: one SAC update on a batch of ``real_ratio`` dataset
    rows and model rows, rewarded by :meth:`reward_of` minus ``lambda u`` on the model rows.

    Here the reward is the dataset's on real rows and the model's reward head on model rows (plain
    offline RL: the world model needs ``predict_reward: true``), or with ``reward_from`` a frozen
    learned reward on both (offline reward transfer: the dataset's reward is then not kept, and the
    world model needs no reward head). Offline ML-IRL replaces :meth:`reward_of` by its learned
    reward, evaluated when a batch is sampled.

    Args:
        env: the env of the dataset (dims checked) and of evaluation.
        dataset: D4RL-format transitions with ``next_observations``.
        world_model: a ``WorldModel`` checkpoint of this env.
        mopo: rollouts, penalty and mix.
        sac: the SAC step.
        reward_from: an IRL checkpoint (Offline ML-IRL, ML-IRL) whose learned reward, frozen, replaces
            the dataset's (e.g. learned on medium-expert data, used on medium-replay: thesis Fig. 3.5).
        training: budget (gradient steps), logging, evaluation, seed.
    """

    uses_dataset_reward = True

    def __init__(
        self,
        env: EnvConfig,
        dataset: str,
        world_model: str,
        mopo: MOPOConfig = MOPOConfig(),  # never mutated
        sac: SACConfig = SACConfig(),  # never mutated
        reward_from: str | None = None,
        training: TrainingConfig = TrainingConfig(total_steps=1_000_000, log_every=1_000),
    ) -> None:
        super().__init__(env, training)
        self.save_hyperparameters()
        spec = self.env_spec
        self.transferred_reward = load_reward(reward_from, spec.obs_dim, spec.act_dim) if reward_from else None
        self.uses_dataset_reward = type(self).uses_dataset_reward and reward_from is None
        self.mopo_config = mopo
        self.policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, sac)
        self.actor = self.policy.actor
        # Frozen, and part of this learner's checkpoint: a run resumes with the model it started with.
        self.world_model = load_world_model(world_model, env.env_id, spec.obs_dim, spec.act_dim).train()
        if self.uses_dataset_reward and not self.world_model.predict_reward:
            raise LitIRLError(
                f"MOPO on the dataset reward needs a world model with a reward head; train {world_model!r}'s config with "
                "world_model.predict_reward: true (Offline ML-IRL needs none)"
            )
        self.terminated = termination_of(env.env_id)
        if self.terminated is None:
            raise LitIRLError(f"no termination function for {env.env_id}; model rollouts know where to stop for {', '.join(_known())}")
        require_next_observations(dataset)
        data = load_dataset(dataset, env.env_id, spec.obs_dim, spec.act_dim)
        self.real = {
            "obs": torch.from_numpy(data.observations), "action": torch.from_numpy(data.actions),
            "next_obs": torch.from_numpy(data.next_observations), "terminated": torch.from_numpy(data.terminals),
        }  # fmt: skip
        if self.uses_dataset_reward:  # otherwise the dataset reward is not even kept: nothing can learn from it
            self.real["reward"] = torch.from_numpy(data.rewards)
        capacity = mopo.rollout_batch * mopo.rollout_length * mopo.retain_rollouts
        keys = ("obs", "action", "next_obs", "terminated", "penalty", *(("model_reward",) if self.world_model.predict_reward else ()))
        self.model_buffer = TransitionReplay(capacity, keys=keys)
        self.register_buffer("rollouts", torch.zeros((), dtype=torch.long))
        self.latest_rollout_stats: dict[str, torch.Tensor] = {}

    def configure_optimizers(self):
        return self.policy.make_optimizers()

    # ------------------------------------------------------------------ parts
    @torch.no_grad()
    def rollout(self) -> dict[str, torch.Tensor]:
        """Model rollouts of the current policy from dataset states into the model buffer."""
        config = self.mopo_config
        generator = torch.Generator().manual_seed(derive_seed(self.seed, self.global_rank, int(self.rollouts), 11))
        pool = self.rollout_start_pool()
        starts = pool[torch.randint(0, pool.shape[0], (config.rollout_batch,), generator=generator)]
        data, mask = model_rollout(self.world_model, self.actor, starts.to(self.device), config.rollout_length, self.terminated,
                                   config.penalty, generator)
        rows = data[mask]
        if self.world_model.predict_reward:
            rows["model_reward"] = self.model_reward(rows)
        self.model_buffer.extend(rows.cpu())
        self.rollouts += 1
        self.latest_rollout_stats = self.rollout_diagnostics(rows, mask, data["terminated"].any(-1))
        return self.latest_rollout_stats

    @torch.no_grad()
    def rollout_diagnostics(self, rows: TensorDict, mask: torch.Tensor, ended: torch.Tensor, max_rows: int = 20_000) -> dict[str, torch.Tensor]:
        """What the SAC step will be paid on the new model rows: the reward, ``lambda u`` and their
        difference. A penalized reward below 0 makes ending the episode (worth 0) the better choice:
        the share of such rows tells whether the penalty, not the reward, is steering the policy.
        ``ended``: per rollout, whether the termination function ended it (a fall in the model).
        Reward terms on at most ``max_rows`` rows (the first ones: rows are in no particular order of quality)."""
        sample = rows[:max_rows]
        reward = self.reward_of(sample, real=False)
        charged = self.mopo_config.penalty_coef * sample["penalty"]
        penalized = reward - charged
        return {
            "mopo/penalty_mean": rows["penalty"].mean(), "mopo/penalty_p90": torch.quantile(sample["penalty"], 0.9),
            "mopo/reward_mean": reward.mean(), "mopo/charged_penalty_mean": charged.mean(), "mopo/penalized_reward_mean": penalized.mean(),
            "mopo/penalized_negative_fraction": (penalized < 0).float().mean(),
            "mopo/rollout_steps_mean": mask.sum(-1).float().mean(), "mopo/rollout_ended_fraction": ended.float().mean(),
        }  # fmt: skip

    def rollout_start_pool(self) -> torch.Tensor:
        """The states model rollouts start from: the dataset's (CLARE: the expert's)."""
        return self.real["obs"]

    def actor_regularizer(self) -> torch.Tensor | None:
        """A term added to the SAC actor loss (none; CLARE: behaviour cloning on expert data)."""
        return None

    def model_reward(self, rows: TensorDict) -> torch.Tensor:
        """The world model's reward head at ``(s, a)``: the mean of a random elite (as its next state)."""
        mean, _ = self.world_model(rows["obs"], rows["action"])
        pick = self.world_model.elites[torch.randint(0, self.world_model.num_elites, (rows.shape[0],))]
        return mean[pick, torch.arange(rows.shape[0]), -1]

    def reward_of(self, batch: TensorDict, real: bool) -> torch.Tensor:
        """The reward the SAC step maximizes before the penalty: the dataset's on real rows, the
        model's reward head on model rows; with ``reward_from`` the transferred reward on both."""
        if self.transferred_reward is not None:
            with torch.no_grad():
                return self.transferred_reward(batch)
        return batch["reward"] if real else batch["model_reward"]

    def sac_batch(self) -> tuple[TensorDict, torch.Tensor]:
        """``real_ratio`` dataset rows and model rows, and their rewards (model rows: ``r - lambda u``)."""
        config, size = self.mopo_config, self.policy.config.batch_size
        real_rows = round(config.real_ratio * size) if len(self.model_buffer) else size
        if real_rows == 0:  # model rows only (CLARE)
            model = self.model_buffer.sample(size).to(self.device)
            return model.select("obs", "action", "next_obs", "terminated"), self.reward_of(model, real=False) - config.penalty_coef * model["penalty"]
        real = TensorDict(self.sample(self.real, real_rows), batch_size=[real_rows])
        reward = self.reward_of(real, real=True)
        if real_rows == size:
            return real.select("obs", "action", "next_obs", "terminated"), reward
        model = self.model_buffer.sample(size - real_rows).to(self.device)
        model_reward = self.reward_of(model, real=False) - config.penalty_coef * model["penalty"]
        keys = ("obs", "action", "next_obs", "terminated")
        return torch.cat([real.select(*keys), model.select(*keys)]), torch.cat([reward, model_reward])

    # ------------------------------------------------------------------- loop
    def policy_step(self, step: int, optimizers: list, stats: dict[str, torch.Tensor]) -> None:
        """Gradient step ``step`` of the policy: model rollouts of the current policy when one is due
        (every ``rollout_every`` steps), then one SAC update on the real / model mix."""
        if step % self.mopo_config.rollout_every == 0 or not len(self.model_buffer):
            with self.timed("model_rollouts"):
                self.rollout()
        stats.update(self.latest_rollout_stats)  # every log shows the latest rollout, not only a batch that made one
        with self.timed("sac_updates"):
            sac_batch, reward = self.sac_batch()
            regularizer = self.actor_regularizer if type(self).actor_regularizer is not MOPO.actor_regularizer else None
            stats.update(self.policy.update(sac_batch, reward, optimizers, self.optimizer_step, regularizer))

    def training_step(self, batch: int, batch_idx: int) -> None:
        optimizers, steps = self.optimizers(), self.gradient_steps_this_batch()
        stats: dict[str, torch.Tensor] = {}
        for step in range(self.progress, self.progress + steps):
            self.policy_step(step, optimizers, stats)
        self.end_step(stats, steps)

    # ------------------------------------------------------------- run state
    def run_state(self) -> dict:
        return {**super().run_state(), "model_buffer": self.model_buffer.state_dict()}

    def load_run_state(self, state: dict) -> None:
        super().load_run_state(state)
        self.model_buffer.load_state_dict(state["model_buffer"])


def _known() -> list[str]:
    from lit_irl.models.termination import TERMINATIONS

    return sorted(TERMINATIONS)
