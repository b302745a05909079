"""ValueDICE (Kostrikov et al. 2020), offline: imitation by minimizing the Donsker-Varadhan form of
KL(rho_pi || rho_E) on expert transitions alone (replay regularization 0, as the thesis ran it)."""

from __future__ import annotations

import math

import torch
from tensordict import TensorDict

from lit_irl.algos.learner import TrainingConfig
from lit_irl.algos.offline import OfflineLearner
from lit_irl.data.modules import expert_transitions
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError, check_positive
from lit_irl.nn import Activation, TanhGaussianActor
from lit_irl.nn.mlp import mlp
from lit_irl.rewards.adversarial import gradient_penalty


def value_dice_objective(nu: torch.Tensor, nu_next: torch.Tensor, nu_initial: torch.Tensor, gamma: float) -> torch.Tensor:
    """``J = log mean_E exp(nu(s, a) - gamma nu(s', a'~pi)) - (1 - gamma) mean_{s0} nu(s0, a0~pi)``
    (``nu_next`` already 0 at terminal transitions). ``nu`` minimizes it, the policy maximizes it."""
    return torch.logsumexp(nu - gamma * nu_next, 0) - math.log(nu.shape[0]) - (1 - gamma) * nu_initial.mean()


class _ReverseGradient(torch.autograd.Function):
    """Identity forward, negated gradient backward: the actor's actions enter ``J`` through it, so one
    backward pass gives ``nu`` the gradient of ``J`` and the actor that of ``-J`` (the saddle point)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return -grad


def orthogonal_regularization(net: torch.nn.Sequential) -> torch.Tensor:
    """``sum ||W^T W * (1 - I)||^2`` over the hidden layers (the ValueDICE actor's regularizer)."""
    total = torch.zeros(())
    for layer in [m for m in net if isinstance(m, torch.nn.Linear)][:-1]:
        gram = layer.weight @ layer.weight.T
        total = total + (gram * (1 - torch.eye(gram.shape[0]))).pow(2).sum()
    return total


class ValueDICE(OfflineLearner):
    """Per gradient step, on ``batch_size`` expert transitions (and as many expert states as initial
    states, which are all expert states, as the official code): ``nu`` takes an Adam step on
    ``J + gradient_penalty GP`` and the actor on ``-J + orthogonal_reg R(actor)``, both through the same
    reparameterized actions ``a' ~ pi(s')`` and ``a0 ~ pi(s0)``.

    Not "the same SAC" as the other learners: there is no critic, no entropy term and no RL step; the
    actor learns through ``J`` alone. No reward is recovered (``nu - B nu`` depends on the policy).
    Use ``env.termination: absorbing`` for envs that end early (the demonstrations are converted to the
    absorbing form, as the official code pads them).

    Args:
        env: the env of the demonstrations and of evaluation.
        demonstrations: expert file; ``num_expert_trajectories`` of its first episodes.
        nu_hidden, actor_hidden, activation: networks (official: 2 x 256 ReLU each).
        normalize_obs: standardize observations with the demonstrations' mean and std, for ``nu`` and
            the actor (kept in the actor, so evaluation and exported policies see raw states), as the
            official code normalizes its states. Without it the Hopper actor falls within 40 steps after
            200k gradient steps (our measurement; ``results/history.md``).
        nu_lr, actor_lr: Adam step sizes (official 1e-3 and 1e-5).
        gamma: discount (0.99).
        gradient_penalty: weight of the penalty on nu at interpolated (s, a) (official 10).
        orthogonal_reg: weight of the actor's orthogonal regularizer (official 1e-4).
        batch_size: expert transitions per step (256).
        training: budget (gradient steps), logging, evaluation, seed.
    """

    def __init__(
        self,
        env: EnvConfig,
        demonstrations: str,
        num_expert_trajectories: int = 1,
        nu_hidden: list[int] = [256, 256],  # noqa: B006  (read-only)
        actor_hidden: list[int] = [256, 256],  # noqa: B006  (read-only)
        activation: Activation = "relu",
        normalize_obs: bool = True,
        nu_lr: float = 1e-3,
        actor_lr: float = 1e-5,
        gamma: float = 0.99,
        gradient_penalty: float = 10.0,
        orthogonal_reg: float = 1e-4,
        batch_size: int = 256,
        training: TrainingConfig = TrainingConfig(total_steps=500_000, log_every=1_000),
    ) -> None:
        super().__init__(env, training)
        check_positive(num_expert_trajectories=num_expert_trajectories, nu_lr=nu_lr, actor_lr=actor_lr, batch_size=batch_size)
        if gradient_penalty < 0 or orthogonal_reg < 0:
            raise LitIRLError("gradient_penalty and orthogonal_reg must be >= 0 (0 turns them off)")
        if not 0 < gamma < 1:
            raise LitIRLError(f"gamma must be in (0, 1), got {gamma}")
        self.save_hyperparameters()
        spec = self.env_spec
        self.actor = TanhGaussianActor(spec.obs_dim, spec.act_dim, actor_hidden, spec.action_low, spec.action_high, activation, normalize_obs)
        self.nu = mlp(spec.obs_dim + spec.act_dim, nu_hidden, 1, activation)
        self.gamma, self.penalty_weight, self.orthogonal_weight, self.batch_size = gamma, gradient_penalty, orthogonal_reg, batch_size
        self.nu_lr, self.actor_lr = nu_lr, actor_lr
        self.demonstration_data, self.expert = expert_transitions(demonstrations, env, num_expert_trajectories)
        if normalize_obs:
            # The absorbing indicator stays 0 / 1: the official code normalizes states before appending it.
            indicator = [spec.obs_dim - 1] if env.termination == "absorbing" else []
            self.actor.obs_normalizer.set(self.expert["obs"], unscaled=indicator)

    def configure_optimizers(self):
        return [torch.optim.Adam(self.nu.parameters(), lr=self.nu_lr), torch.optim.Adam(self.actor.parameters(), lr=self.actor_lr)]

    def normalized(self, obs: torch.Tensor) -> torch.Tensor:
        """``nu``'s view of observations: standardized as the actor's (when ``normalize_obs``)."""
        return obs if self.actor.obs_normalizer is None else self.actor.obs_normalizer(obs)

    def nu_of(self, batch: TensorDict) -> torch.Tensor:
        """``nu(s, a)`` of a batch whose ``obs`` are already :meth:`normalized`."""
        return self.nu(torch.cat([batch["obs"], batch["action"]], -1)).squeeze(-1)

    def objective(self, expert: TensorDict, initial_obs: torch.Tensor, reverse_actor: bool = False) -> torch.Tensor:
        """``J`` on a batch; with ``reverse_actor`` the actor's gradient through it is negated."""
        next_action, _ = self.actor(expert["next_obs"])
        initial_action, _ = self.actor(initial_obs)
        if reverse_actor:
            next_action, initial_action = _ReverseGradient.apply(next_action), _ReverseGradient.apply(initial_action)
        nu_next = self.nu_of(TensorDict({"obs": self.normalized(expert["next_obs"]), "action": next_action}, batch_size=expert.batch_size))
        nu_next = nu_next * (~expert["terminated"].bool()).float()
        nu_initial = self.nu_of(TensorDict({"obs": self.normalized(initial_obs), "action": initial_action}, batch_size=[initial_obs.shape[0]]))
        nu_expert = self.nu_of(TensorDict({"obs": self.normalized(expert["obs"]), "action": expert["action"]}, batch_size=expert.batch_size))
        return value_dice_objective(nu_expert, nu_next, nu_initial, self.gamma)

    def training_step(self, batch: int, batch_idx: int) -> None:
        nu_optimizer, actor_optimizer = self.optimizers()
        steps = self.gradient_steps_this_batch()
        for _ in range(steps):
            expert = TensorDict(self.sample(self.expert, self.batch_size), batch_size=[self.batch_size])
            initial = self.sample({"obs": self.expert["obs"]}, self.batch_size)["obs"]
            # nu descends J (+ its gradient penalty), the actor ascends it (+ its regularizer): one pass.
            objective = self.objective(expert, initial, reverse_actor=True)
            loss = objective + self.orthogonal_weight * orthogonal_regularization(self.actor.net)
            if self.penalty_weight > 0:
                with torch.no_grad():
                    policy_action, _ = self.actor(expert["obs"])
                # On nu's normalized inputs, as the official code (its data are normalized up front).
                obs = self.normalized(expert["obs"])
                demonstrated = TensorDict({"obs": obs, "action": expert["action"]}, batch_size=expert.batch_size)
                policy = TensorDict({"obs": obs, "action": policy_action}, batch_size=expert.batch_size)
                loss = loss + self.penalty_weight * gradient_penalty(self.nu_of, demonstrated, policy, ("obs", "action"))
            self.optimizer_step(loss, nu_optimizer, actor_optimizer, name="value_dice/loss")
        self.end_step({"value_dice/objective": objective.detach(), "value_dice/loss": loss.detach()}, steps)
