"""The actor contract, BC and PPO: log-probabilities, GAE, learning a known policy, CLI and resume."""

from __future__ import annotations

import math
import signal
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from lit_irl.algos import BC, PPO, TrainingConfig
from lit_irl.algos.online import CollectionConfig
from lit_irl.data.collect import EnvRunner
from lit_irl.data.d4rl import TransitionData, save_dataset
from lit_irl.data.rollout import Policy, export_policy, load_policy
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.errors import LitIRLError
from lit_irl.evaluation import Evaluator
from lit_irl.nn import DeterministicActor, GaussianActor, TanhGaussianActor, build_actor
from lit_irl.policy.ppo import PPOConfig, generalized_advantages
from tests.conftest import ROOT, run_cli

PENDULUM = EnvConfig("InvertedPendulum-v5")


# ------------------------------------------------------------------ actors
def _actors(obs_dim: int = 3, act_dim: int = 1, low: float = -2.0, high: float = 2.0):
    torch.manual_seed(0)
    box = (torch.full((act_dim,), low), torch.full((act_dim,), high))
    return [
        TanhGaussianActor(obs_dim, act_dim, [16], *box),
        GaussianActor(obs_dim, act_dim, [16], *box, init_log_std=-0.5),
        DeterministicActor(obs_dim, act_dim, [16], *box, std=0.3),
    ]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_log_prob_of_given_actions_matches_a_monte_carlo_density(index: int):
    """1-D actions: the histogram of many samples at one state matches exp(log_prob) bin by bin,
    and the density integrates to one."""
    actor = _actors()[index]
    obs = torch.randn(1, 3)
    generator = torch.Generator().manual_seed(3)
    samples = actor.act(obs.expand(200_000, -1), generator=generator)[:, 0]
    edges = torch.linspace(float(samples.min()), float(samples.max()), 41)
    counts = torch.histc(samples, bins=40, min=float(edges[0]), max=float(edges[-1]))
    width = float(edges[1] - edges[0])
    centers = (edges[:-1] + edges[1:]) / 2
    with torch.no_grad():
        density = actor.log_prob(obs.expand(40, -1), centers.unsqueeze(-1)).exp()
    empirical = counts / (samples.numel() * width)
    mass = float(density.sum() * width)
    if index == 2:  # the deterministic head clips its samples to the box: compare inside only
        inside = (centers > -1.9) & (centers < 1.9)
        empirical, density = empirical[inside], density[inside]
    else:
        assert abs(mass - 1.0) < 0.03, mass
    assert torch.allclose(empirical, density, atol=0.02 + 0.05 * float(density.max())), (empirical, density)


def test_log_prob_is_finite_at_the_bounds_and_agrees_with_sampling():
    for actor in _actors():
        obs = torch.randn(64, 3)
        action, sampled_log_prob = actor(obs)
        with torch.no_grad():
            given = actor.log_prob(obs, action)
        # the tanh actor recovers u by atanh: equal up to float precision away from the bounds
        torch.testing.assert_close(given, sampled_log_prob.detach(), rtol=1e-3, atol=1e-3)
        bounds = torch.tensor([[-2.0], [2.0], [-2.0000001], [2.0000001]])
        assert torch.isfinite(actor.log_prob(torch.randn(4, 3), bounds)).all()


def test_hand_computed_tanh_gaussian_log_prob():
    """baselines card: mu = 0, sigma = 1, a = tanh(0.5): log pi = log N(0.5; 0, 1) - log(1 - tanh^2 0.5)."""
    actor = TanhGaussianActor(1, 1, [4], torch.tensor([-1.0]), torch.tensor([1.0]))
    with torch.no_grad():
        actor.net[-1].weight.zero_()
        # log-std pre-activation such that the soft clamp gives log std = 0: tanh(x) = 2 * 5 / 7 - 1
        actor.net[-1].bias.copy_(torch.tensor([0.0, math.atanh(2 * 5 / 7 - 1)]))
    expected = -0.5 * 0.25 - 0.5 * math.log(2 * math.pi) - math.log(1 - math.tanh(0.5) ** 2)
    got = float(actor.log_prob(torch.zeros(1, 1), torch.tensor([[math.tanh(0.5)]])).detach())
    assert abs(got - expected) < 1e-5


def test_exported_policies_rebuild_their_own_architecture(tmp_path: Path):
    for actor in _actors():
        rebuilt = build_actor(actor.spec())
        rebuilt.load_state_dict(actor.state_dict())
        obs = torch.randn(5, 3)
        assert torch.equal(rebuilt.act(obs, deterministic=True), actor.act(obs, deterministic=True))
    spec = probe_env(PENDULUM)
    gaussian = GaussianActor(spec.obs_dim, spec.act_dim, [8], spec.action_low, spec.action_high, normalize_obs=True)
    gaussian.obs_normalizer.update(torch.randn(100, spec.obs_dim) * 3 + 1)
    path = export_policy(Policy(gaussian, PENDULUM, "unit test", 0, {}), tmp_path / "ppo.pt")
    loaded = load_policy(path).actor
    assert isinstance(loaded, GaussianActor) and torch.equal(loaded.obs_normalizer.std, gaussian.obs_normalizer.std)


# ------------------------------------------------------------------ PPO
def test_gae_against_a_hand_computed_case():
    """Two envs, three steps: env 0 ends by a fall at t=1 (no bootstrap), env 1 by a time limit at
    t=2 (bootstraps from V(s'))."""
    gamma, lam = 0.9, 0.8
    rewards = torch.tensor([[1.0, 0.5], [2.0, 0.5], [3.0, 0.5]])
    values = torch.tensor([[0.5, 1.0], [1.0, 1.0], [0.2, 1.0]])
    next_values = torch.tensor([[1.0, 1.0], [9.0, 1.0], [0.7, 4.0]])
    terminated = torch.tensor([[False, False], [True, False], [False, False]])
    done = torch.tensor([[False, False], [True, False], [False, True]])
    advantages, returns = generalized_advantages(rewards, values, next_values, terminated, done, gamma, lam)
    # env 0: t=2 starts a new episode: delta = 3 + .9 * .7 - .2; t=1 falls: delta = 2 - 1; t=0: 1 + .9 - .5
    d2, d1, d0 = 3 + 0.9 * 0.7 - 0.2, 2 - 1.0, 1 + 0.9 * 1.0 - 0.5
    a2, a1 = d2, d1
    a0 = d0 + gamma * lam * a1
    # env 1: deltas .5 + .9 - 1 = .4 at t=0, 1; t=2: .5 + .9 * 4 - 1 = 3.1
    b2 = 0.5 + 0.9 * 4.0 - 1.0
    b1 = 0.4 + gamma * lam * b2
    b0 = 0.4 + gamma * lam * b1
    expected = torch.tensor([[a0, b0], [a1, b1], [a2, b2]])
    torch.testing.assert_close(advantages, expected)
    torch.testing.assert_close(returns, expected + values)


def _tiny_ppo(save_dir: Path, total: int = 384) -> list[str]:
    return [
        "--config", str(ROOT / "configs/ppo/inverted_pendulum.yaml"),
        "--model.init_args.training.total_steps", str(total),
        "--model.init_args.training.eval_episodes", "2",
        "--model.init_args.training.log_every", "128",
        "--model.init_args.collection.env_steps_per_batch", "64",
        "--model.init_args.collection.num_envs", "2",
        "--model.init_args.ppo.update_epochs", "2",
        "--model.init_args.ppo.minibatch_size", "32",
        "--checkpoint.every_n_steps", "128",
        "--evaluation.every_n_steps", "256",
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(save_dir),
    ]


def _last(save_dir: Path) -> dict:
    (ckpt,) = save_dir.glob("*/version_*/checkpoints/last.ckpt")
    return torch.load(ckpt, weights_only=False)


def _assert_same_state(a: dict, b: dict) -> None:
    different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not different, f"differ after resume: {different}"
    for sa, sb in zip(a["optimizer_states"][0]["state"].values(), b["optimizer_states"][0]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa), "optimizer resumes exactly"


def test_ppo_cli_and_resume_is_bit_identical(tmp_path: Path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    result = run_cli("fit", *_tiny_ppo(straight))
    assert "Traceback" not in result.stderr
    state = _last(straight)
    assert int(state["state_dict"]["env_steps"]) == 384 and state["lit_irl"]["progress_unit"] == "env_steps"
    interrupted = run_cli("fit", *_tiny_ppo(killed), "--trainer.callbacks+=tests.helpers.KillAfterCheckpoint", "--trainer.callbacks.steps", "256", check=False)
    assert interrupted.returncode == -signal.SIGKILL, interrupted.stderr[-2000:]
    run_cli("fit", *_tiny_ppo(killed), "--ckpt_path", "last")
    _assert_same_state(state, _last(killed))
    tested = run_cli("test", *_tiny_ppo(straight), "--ckpt_path", "last")
    assert "PPO on InvertedPendulum-v5 after 384 env steps" in tested.stdout


def test_ppo_starts_from_a_bc_policy_with_a_kl_to_it(tmp_path: Path):
    run_cli("fit", *_tiny_bc(tmp_path / "bc", total=20))
    (bc_ckpt,) = (tmp_path / "bc").glob("*/version_*/checkpoints/last.ckpt")
    run_cli(
        "fit", *_tiny_ppo(tmp_path / "ppo", total=128), "--model.init_args.init_from", str(bc_ckpt), "--model.init_args.ppo.kl_coef", "0.1",
    )
    state = _last(tmp_path / "ppo")
    assert state["lit_irl"]["actor"]["class_path"].endswith("TanhGaussianActor"), "the BC actor's architecture"
    with pytest.raises(LitIRLError, match="needs a reference policy"):
        PPO(PENDULUM, ppo=PPOConfig(kl_coef=0.1))


# ------------------------------------------------------------------ BC
def _linear_demonstrations(path: Path, weight: torch.Tensor, episodes: int = 4, length: int = 200) -> str:
    """InvertedPendulum-shaped data whose actions are a known squashed linear policy 3 tanh(W s)."""
    generator = np.random.default_rng(0)
    n = episodes * length
    obs = generator.normal(size=(n, 4)).astype(np.float32)
    actions = (3 * np.tanh(obs @ weight.numpy().T)).astype(np.float32)
    timeouts = np.zeros(n, dtype=bool)
    timeouts[length - 1 :: length] = True
    data = TransitionData(obs, actions, np.zeros(n, np.float32), np.zeros(n, bool), timeouts, obs.copy(), {}, {"env_id": PENDULUM.env_id})
    return str(save_dataset(path, data))


def test_bc_recovers_a_known_linear_policy(tmp_path: Path):
    weight = torch.tensor([[0.5, -1.0, 0.25, 2.0]])
    demos = _linear_demonstrations(tmp_path / "linear.hdf5", weight)
    module = BC(
        PENDULUM, demos, num_trajectories=None, head="deterministic", actor_hidden=[], normalize_obs=False, lr=1e-2, batch_size=128,
        training=TrainingConfig(total_steps=1500, eval_episodes=1, log_every=500),
    )
    L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=-1).fit(module)
    learned = module.actor.net[0].weight.detach()
    torch.testing.assert_close(learned, weight, atol=0.05, rtol=0.05)


def test_bc_evaluates_on_the_env_and_never_steps_it_otherwise(monkeypatch, tmp_path: Path):
    evaluating = {"now": False, "steps": 0}
    original_run, original_step = Evaluator.run, EnvRunner._step

    def run(self, *args, **kwargs):
        evaluating["now"] = True
        try:
            return original_run(self, *args, **kwargs)
        finally:
            evaluating["now"] = False

    def step(self, *args, **kwargs):
        assert evaluating["now"], "BC stepped the env outside evaluation"
        evaluating["steps"] += 1
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(Evaluator, "run", run)
    monkeypatch.setattr(EnvRunner, "_step", step)
    demos = str(ROOT / "zoo/InvertedPendulum-v5/expert_demos.hdf5")
    module = BC(PENDULUM, demos, actor_hidden=[16], training=TrainingConfig(total_steps=20, eval_episodes=2, log_every=10))
    L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=-1, callbacks=[_evaluation(10)]).fit(module)
    assert int(module.gradient_steps) == 20 and evaluating["steps"] > 0


def _evaluation(every: int):
    from lit_irl.callbacks import Evaluation

    return Evaluation(every_n_steps=every)


def _tiny_bc(save_dir: Path, total: int = 60) -> list[str]:
    return [
        "--config", str(ROOT / "configs/bc/inverted_pendulum.yaml"),
        "--model.init_args.training.total_steps", str(total),
        "--model.init_args.training.eval_episodes", "1",
        "--model.init_args.training.log_every", "10",
        "--model.init_args.actor_hidden", "[32, 32]",
        "--model.init_args.batch_size", "64",
        "--checkpoint.every_n_steps", "20",
        "--evaluation.every_n_steps", str(total),
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(save_dir),
    ]


def test_bc_cli_and_resume_is_bit_identical(tmp_path: Path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run_cli("fit", *_tiny_bc(straight))
    state = _last(straight)
    assert int(state["state_dict"]["gradient_steps"]) == 60 and state["lit_irl"]["progress_unit"] == "gradient_steps"
    assert (next(straight.glob("*/version_*/checkpoints"))).exists()
    interrupted = run_cli("fit", *_tiny_bc(killed), "--trainer.callbacks+=tests.helpers.KillAfterCheckpoint", "--trainer.callbacks.steps", "40", check=False)
    assert interrupted.returncode == -signal.SIGKILL, interrupted.stderr[-2000:]
    run_cli("fit", *_tiny_bc(killed), "--ckpt_path", "last")
    _assert_same_state(state, _last(killed))
    # any learner's checkpoint rolls out as a policy
    assert load_policy(next(straight.glob("*/version_*/checkpoints/last.ckpt"))).meta["gradient_steps"] == 60


def test_bad_learner_inputs(tmp_path: Path):
    with pytest.raises(LitIRLError, match="head must be"):
        BC(PENDULUM, str(ROOT / "zoo/InvertedPendulum-v5/expert_demos.hdf5"), head="mixture")
    with pytest.raises(LitIRLError, match="does not exist"):
        BC(PENDULUM, str(tmp_path / "missing.hdf5"))
    with pytest.raises(LitIRLError, match="gae_lambda must lie in"):
        PPOConfig(gae_lambda=1.5)
    with pytest.raises(LitIRLError, match="num_envs > 1 needs collector fast"):
        CollectionConfig(num_envs=2, collector="torchrl")
