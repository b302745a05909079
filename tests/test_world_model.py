"""World model: a known linear-Gaussian system, batched = per-member, elites, penalties, early
stopping, exact resume, the fit CLI and load_world_model, the dataset reward kept out, bad inputs."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lit_irl.algos import TrainingConfig
from lit_irl.checkpoint_io import AtomicCheckpointIO
from lit_irl.data.d4rl import TransitionData, save_dataset, write_hdf5
from lit_irl.data.rollout import rollout
from lit_irl.envs import EnvConfig
from lit_irl.errors import LitIRLError
from lit_irl.models.penalties import PENALTIES, uncertainty_penalty
from lit_irl.algos.world_model import WorldModel, WorldModelConfig, load_world_model
from lit_irl.models.world_model import GaussianEnsemble
from tests.conftest import ROOT, run_cli

PENDULUM = EnvConfig("InvertedPendulum-v5")


def _tiny(**overrides) -> WorldModelConfig:
    settings = {"num_models": 3, "num_elites": 2, "hidden": [16, 16], "weight_decay": 1e-5, "batch_size": 32, "holdout_max": 100}
    return WorldModelConfig(**{**settings, "patience": 3, "max_epochs": 8, **overrides})


def _fit(module: WorldModel, ckpt_path: str | None = None) -> WorldModel:
    trainer = L.Trainer(
        accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, max_epochs=-1,
        plugins=[AtomicCheckpointIO()],  # the CLI's checkpoint reader (our checkpoints hold RNG states)
    )  # fmt: skip
    trainer.fit(module, ckpt_path=ckpt_path)
    module._test_trainer = trainer
    return module


def _pendulum_shaped(path: Path, rows: int = 400, seed: int = 0, rewards: np.ndarray | None = None) -> str:
    """InvertedPendulum-shaped transitions s' = s + 0.1 tanh(s) + 0.05 a + noise, in episodes of 50."""
    generator = np.random.default_rng(seed)
    obs = generator.normal(size=(rows, 4)).astype(np.float32)
    actions = generator.uniform(-3, 3, size=(rows, 1)).astype(np.float32)
    next_obs = (obs + 0.1 * np.tanh(obs) + 0.05 * actions + 0.01 * generator.normal(size=(rows, 4))).astype(np.float32)
    timeouts = np.zeros(rows, dtype=bool)
    timeouts[49::50] = True
    rewards = np.ones(rows, np.float32) if rewards is None else rewards.astype(np.float32)
    data = TransitionData(obs, actions, rewards, np.zeros(rows, bool), timeouts, next_obs, {}, {"env_id": PENDULUM.env_id})
    return str(save_dataset(path, data))


@pytest.fixture(scope="module")
def pendulum_data(tmp_path_factory) -> str:
    return _pendulum_shaped(tmp_path_factory.mktemp("data") / "pendulum.hdf5")


# ------------------------------------------------------------ the ensemble
def test_ensemble_learns_a_known_linear_gaussian_system():
    torch.manual_seed(0)
    a_matrix = torch.tensor([[0.1, -0.2, 0.0], [0.05, 0.0, 0.3], [0.0, 0.1, -0.1]])
    b_matrix = torch.tensor([[0.5, 0.0], [0.0, -0.4], [0.2, 0.3]])
    noise_std = torch.tensor([0.05, 0.1, 0.2])
    generator = torch.Generator().manual_seed(0)

    def transitions(rows: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        obs, action = torch.randn(rows, 3, generator=generator), torch.rand(rows, 2, generator=generator) * 2 - 1
        return obs, action, obs + obs @ a_matrix.T + action @ b_matrix.T + noise_std * torch.randn(rows, 3, generator=generator)

    obs, action, next_obs = transitions(4000)
    ensemble = GaussianEnsemble(3, 2, num_models=2, num_elites=1, hidden=[64, 64])
    ensemble.fit_input_normalizer(obs, action)
    optimizer = torch.optim.Adam(ensemble.parameter_groups(0.0), lr=3e-3)
    for _ in range(400):
        index = torch.randint(0, 4000, (2, 256), generator=generator)  # a bootstrap minibatch per member
        loss = ensemble.nll_loss(obs[index], action[index], next_obs[index]) + ensemble.logvar_bound_loss()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test_obs, test_action, _ = transitions(1000)
    with torch.no_grad():
        mean, logvar = ensemble(test_obs, test_action)
    true_delta = test_obs @ a_matrix.T + test_action @ b_matrix.T
    assert (mean - true_delta).square().mean().sqrt() < 0.04, "the mean delta is learned"
    learned_std = logvar.mul(0.5).exp().mean(dim=1)  # (members, dims)
    torch.testing.assert_close(learned_std, noise_std.expand(2, 3), rtol=0.15, atol=0.0)


def _member_alone(ensemble: GaussianEnsemble, member: int, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One member's forward pass with its own weights, layer by layer (no batched matmul)."""
    x = ((torch.cat([obs, action], -1) - ensemble.input_mean) / ensemble.input_std).clamp(-10, 10)
    layers = ensemble.net.layers
    for index, layer in enumerate(layers):
        x = F.linear(x, layer.weight[member].T, layer.bias[member, 0])
        if index < len(layers) - 1:
            x = F.silu(x)
    mean, raw = x.split(ensemble.out_dim, dim=-1)
    logvar = ensemble.max_logvar - F.softplus(ensemble.max_logvar - raw)
    return mean, ensemble.min_logvar + F.softplus(logvar - ensemble.min_logvar)


def test_batched_forward_equals_each_member_alone():
    torch.manual_seed(1)
    ensemble = GaussianEnsemble(3, 2, num_models=4, num_elites=2, hidden=[8, 5], predict_reward=True)
    ensemble.fit_input_normalizer(torch.randn(50, 3) * 3 + 1, torch.randn(50, 2))
    with torch.no_grad():
        ensemble.max_logvar.copy_(torch.tensor([0.5, 0.2, -0.3, 0.1]))
        ensemble.net.layers[-1].bias.normal_()
    obs, action = torch.randn(7, 3), torch.randn(7, 2)
    shared = ensemble(obs, action)
    per_member = ensemble(obs.expand(4, 7, 3) * torch.arange(1, 5).view(4, 1, 1), action.expand(4, 7, 2))
    for member in range(4):
        for batched, alone in zip(shared, _member_alone(ensemble, member, obs, action)):
            torch.testing.assert_close(batched[member], alone, atol=1e-5, rtol=1e-5)
        for batched, alone in zip(per_member, _member_alone(ensemble, member, obs * (member + 1), action)):
            torch.testing.assert_close(batched[member], alone, atol=1e-5, rtol=1e-5)
    assert shared[0].shape == (4, 7, 4), "(members, batch, obs_dim + reward)"


def _marked_ensemble() -> GaussianEnsemble:
    """Member m predicts delta (m+1, -(m+1)) with a tiny std, whatever the input."""
    ensemble = GaussianEnsemble(2, 1, num_models=4, num_elites=2, hidden=[8])
    with torch.no_grad():
        last = ensemble.net.layers[-1]
        last.weight.zero_()
        marks = torch.arange(1.0, 5.0).view(4, 1)
        last.bias[:, 0, :2] = torch.cat([marks, -marks], dim=1)
        last.bias[:, 0, 2:] = -30.0  # log-variance at its lower bound: std about 0.007
    return ensemble


def test_step_uses_only_elites_and_samples_reproducibly():
    ensemble = _marked_ensemble()
    ensemble.set_elites(torch.tensor([5.0, 1.0, 3.0, 2.0]))
    assert ensemble.elites.tolist() == [1, 3], "lowest holdout MSE first"
    obs, action = torch.randn(500, 2), torch.randn(500, 1)
    delta = ensemble.step(obs, action, torch.Generator().manual_seed(0), deterministic=True) - obs
    members = set((delta[:, 0].round() - 1).long().tolist())
    assert members == {1, 3}, f"rows went to members {members}, the elites are 1 and 3"
    torch.testing.assert_close(delta[:, 1], -delta[:, 0])
    first = ensemble.step(obs, action, torch.Generator().manual_seed(1))
    again = ensemble.step(obs, action, torch.Generator().manual_seed(1))
    other = ensemble.step(obs, action, torch.Generator().manual_seed(2))
    assert first.shape == (500, 2) and torch.isfinite(first).all()
    assert torch.equal(first, again) and not torch.equal(first, other), "one generator, one sample"
    noise = (first - obs)[:, 0] - (first - obs)[:, 0].round()
    assert 0 < noise.abs().max() < 0.05, "sampled around the elite's mean with its std"


def test_reward_head_is_optional_and_never_takes_rewards_without_one():
    obs, action = torch.randn(5, 2), torch.randn(5, 1)
    with pytest.raises(LitIRLError, match="no reward head"):
        _marked_ensemble().nll_loss(obs, action, obs, reward=torch.ones(5))
    with_reward = GaussianEnsemble(2, 1, num_models=2, num_elites=1, hidden=[8], predict_reward=True)
    with pytest.raises(LitIRLError, match="pass the transitions' rewards"):
        with_reward.nll_loss(obs, action, obs)
    assert with_reward.nll_loss(obs, action, obs, torch.ones(5)).isfinite()
    mean, logvar = with_reward(obs, action)
    next_obs, reward = with_reward.sample(obs, mean, logvar)
    assert next_obs.shape == (5, 2) and reward.shape == (5,)


def test_holdout_mse_is_the_mse_of_each_members_mean():
    ensemble = _marked_ensemble()
    obs, action = torch.randn(30, 2), torch.randn(30, 1)
    next_obs = obs + torch.tensor([2.0, -2.0])  # member 1 exactly
    expected = torch.tensor([(m + 1 - 2.0) ** 2 for m in range(4)])
    torch.testing.assert_close(ensemble.holdout_mse(obs, action, next_obs), expected)


# ------------------------------------------------------------- penalties
def test_penalties_hand_computed():
    # Two members, one row, two state dims and a reward dim that must not count.
    mean = torch.tensor([[[0.0, 0.0, 100.0]], [[3.0, 4.0, -100.0]]])
    std = torch.tensor([[[1.0, 2.0, 50.0]], [[2.0, 2.0, 50.0]]])
    logvar = 2 * std.log()
    # ensemble_var: dim 1 (1 + 4) / 2 + 1.5^2 = 4.75, dim 2 (4 + 4) / 2 + 2^2 = 8; their mean 6.375.
    expected = {"max_aleatoric": math.sqrt(8.0), "ensemble_std": math.sqrt((2.25 + 4.0) / 2), "ensemble_var": 6.375, "pairwise_max": 5.0}
    for name in PENALTIES:
        value = uncertainty_penalty(name, mean, logvar, obs_dim=2)
        assert value.shape == (1,)
        assert value.item() == pytest.approx(expected[name], rel=1e-5), name
    three = torch.tensor([[[0.0, 0.0]], [[3.0, 4.0]], [[0.0, 1.0]]])  # pair distances 5, 1, sqrt(18)
    assert uncertainty_penalty("pairwise_max", three, torch.zeros_like(three)).item() == pytest.approx(5.0)


def test_penalties_are_nonnegative_per_row_and_zero_when_members_agree():
    torch.manual_seed(0)
    mean, logvar = torch.randn(5, 64, 3) * 10, torch.randn(5, 64, 3) * 3
    for name in PENALTIES:
        value = uncertainty_penalty(name, mean, logvar)
        assert value.shape == (64,) and (value >= 0).all() and torch.isfinite(value).all(), name
    agreeing = torch.randn(1, 8, 3).expand(4, 8, 3)
    assert uncertainty_penalty("ensemble_std", agreeing, logvar[:4, :8]).abs().max() < 1e-6
    assert uncertainty_penalty("pairwise_max", agreeing, logvar[:4, :8]).abs().max() < 1e-6


def test_unknown_penalty_lists_the_valid_ones():
    with pytest.raises(LitIRLError, match="max_aleatoric, ensemble_std, ensemble_var, pairwise_max"):
        uncertainty_penalty("frobenius", torch.zeros(2, 1, 2), torch.zeros(2, 1, 2))


# ------------------------------------------------------ the learner in-process
def test_early_stopping_ends_on_the_best_weights_with_their_elites(pendulum_data: str):
    # A vanishing step size: epoch 1 improves on nothing, no later epoch improves by 1%.
    module = WorldModel(PENDULUM, pendulum_data, _tiny(lr=1e-12, patience=2), TrainingConfig(total_steps=10_000, log_every=10))
    _fit(module)
    assert int(module.epochs_done) == 3 and bool(module.training_finished)
    assert int(module.gradient_steps) == 3 * module.steps_per_epoch == 3 * math.ceil(320 / 32)
    trained = _fit(WorldModel(PENDULUM, pendulum_data, _tiny(), TrainingConfig(total_steps=10_000, log_every=10)))
    assert bool(trained.training_finished) and int(trained.epochs_done) <= 8
    best = trained.best_ensemble.state_dict()
    assert all(torch.equal(value, best[key]) for key, value in trained.ensemble.state_dict().items()), "ends on the best weights"
    assert trained.ensemble.elites.tolist() == torch.argsort(trained.best_holdout_mse)[:2].tolist()
    holdout = trained._holdout
    recomputed = trained.best_ensemble.holdout_mse(holdout["obs"], holdout["action"], holdout["next_obs"])
    torch.testing.assert_close(recomputed, trained.best_holdout_mse)


def test_resume_mid_epoch_is_bit_identical(pendulum_data: str, tmp_path: Path):
    def module(total: int) -> WorldModel:
        return WorldModel(PENDULUM, pendulum_data, _tiny(patience=50, max_epochs=None), TrainingConfig(total_steps=total, log_every=10))

    straight = _fit(module(45))  # 10 steps per epoch: stops half-way through epoch 5
    interrupted = _fit(module(25))
    interrupted._test_trainer.save_checkpoint(tmp_path / "mid.ckpt")
    resumed = _fit(module(45), ckpt_path=str(tmp_path / "mid.ckpt"))
    assert int(resumed.gradient_steps) == 45 and int(resumed.epochs_done) == 4 and int(resumed.step_in_epoch) == 5
    ours, theirs = straight.state_dict(), resumed.state_dict()
    different = [key for key in ours if not torch.equal(ours[key], theirs[key])]
    assert not different, f"differ after resume: {different}"


def test_world_model_never_sees_the_dataset_reward(tmp_path: Path):
    generator = np.random.default_rng(5)
    paths = [_pendulum_shaped(tmp_path / f"r{i}.hdf5", rewards=generator.normal(size=400) * 1e3) for i in range(2)]
    modules = [_fit(WorldModel(PENDULUM, path, _tiny(max_epochs=2), TrainingConfig(total_steps=1_000, log_every=10))) for path in paths]
    assert all("reward" not in m._train and "reward" not in m._holdout and not m.uses_env_reward for m in modules)
    first, second = (m.state_dict() for m in modules)
    assert all(torch.equal(first[key], second[key]) for key in first), "other rewards, same world model"


# -------------------------------------------------------------- CLI, loading
def test_fit_cli_then_load_world_model(tmp_path: Path):
    data = rollout(PENDULUM, None, transitions=800, seed=0, num_envs=4)  # uniform random actions
    dataset = str(save_dataset(tmp_path / "random.hdf5", data))
    run_cli(
        "fit",
        "--config", str(ROOT / "configs/world_model/inverted_pendulum.yaml"),
        "--model.init_args.dataset", dataset,
        "--model.init_args.world_model.num_models", "3",
        "--model.init_args.world_model.num_elites", "2",
        "--model.init_args.world_model.hidden", "[16, 16]",
        "--model.init_args.world_model.batch_size", "64",
        "--model.init_args.world_model.max_epochs", "4",
        "--model.init_args.training.total_steps", "200",
        "--model.init_args.training.log_every", "10",
        "--checkpoint.every_n_steps", "20",
        "--evaluation.every_n_steps", "20",
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "runs"),
    )  # fmt: skip
    (checkpoint,) = (tmp_path / "runs").glob("worldmodel-InvertedPendulum-v5/version_*/checkpoints/last.ckpt")
    state = torch.load(checkpoint, weights_only=False)["state_dict"]
    assert int(state["epochs_done"]) == 4 and int(state["gradient_steps"]) == 4 * math.ceil(640 / 64)

    ensemble = load_world_model(checkpoint, env_id="InvertedPendulum-v5", obs_dim=4, act_dim=1)
    assert ensemble.num_models == 3 and not ensemble.training
    assert torch.equal(ensemble.elites, state["best_ensemble.elites"])
    assert ensemble.elites.tolist() == torch.argsort(state["best_holdout_mse"])[:2].tolist()
    for name in ("input_mean", "input_std"):
        assert torch.equal(getattr(ensemble, name), state[f"best_ensemble.{name}"])
    inputs = np.concatenate([data.observations, data.actions], axis=1)
    assert np.allclose(ensemble.input_std.numpy(), inputs.std(0), rtol=0.2), "fitted on (most of) the data"
    assert not torch.equal(ensemble.input_std, torch.ones(5))
    obs, action = torch.from_numpy(data.observations[:64]), torch.from_numpy(data.actions[:64])
    assert torch.isfinite(ensemble.step(obs, action, torch.Generator().manual_seed(0))).all()

    events = b"".join(path.read_bytes() for path in checkpoint.parent.parent.glob("events.out.tfevents.*"))
    for tag in (b"world_model/holdout_mse", b"world_model/holdout_nll", b"world_model/train_nll"):
        assert tag in events, tag
    with pytest.raises(LitIRLError, match="is for InvertedPendulum-v5 .*train a world model of this env"):
        load_world_model(checkpoint, env_id="Hopper-v5", obs_dim=11, act_dim=3)


def test_models_are_plain_torch():
    # The ensemble, penalties and termination functions load without Lightning: the learner is lit_irl.algos.WorldModel.
    code = "import sys, lit_irl.models; assert 'lightning' not in sys.modules, 'lit_irl.models imported Lightning'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


# -------------------------------------------------------------- bad inputs
def test_bad_inputs_name_the_fix(pendulum_data: str, tmp_path: Path):
    with pytest.raises(LitIRLError, match="num_elites .* exceeds num_models .* set num_elites <= num_models"):
        WorldModelConfig(num_models=3, num_elites=5)
    with pytest.raises(LitIRLError, match="num_elites .* exceeds num_models"):
        GaussianEnsemble(4, 1, num_models=3, num_elites=5)
    for fraction in (0.0, 1.0):
        with pytest.raises(LitIRLError, match="holdout_fraction must lie in"):
            WorldModelConfig(holdout_fraction=fraction)
    with pytest.raises(LitIRLError, match="must be > 0"):
        WorldModelConfig(hidden=[200, 0])
    with pytest.raises(LitIRLError, match="must be > 0"):
        WorldModelConfig(batch_size=0)
    with pytest.raises(LitIRLError, match="weight_decay has 5 values for 3 linear layers"):
        WorldModelConfig(hidden=[64, 64])

    rows = 100
    arrays = {
        "observations": np.zeros((rows, 4), np.float32), "actions": np.zeros((rows, 1), np.float32), "rewards": np.zeros(rows, np.float32),
        "terminals": np.zeros(rows, bool), "timeouts": np.arange(rows) % 50 == 49,
    }  # fmt: skip
    old_layout = write_hdf5(tmp_path / "v1.hdf5", arrays, {"env_id": PENDULUM.env_id})
    with pytest.raises(LitIRLError, match="no next_observations .* use a D4RL v2 file or one written by lit-irl-data"):
        WorldModel(PENDULUM, str(old_layout), _tiny())
    with pytest.raises(LitIRLError, match="was made for Hopper-v5.*use a dataset of InvertedPendulum-v5"):
        WorldModel(PENDULUM, str(ROOT / "zoo/Hopper-v5/expert_demos.hdf5"), _tiny())
    other_dims = {**arrays, "observations": np.zeros((rows, 11), np.float32), "next_observations": np.zeros((rows, 11), np.float32)}
    unnamed = write_hdf5(tmp_path / "unnamed.hdf5", other_dims, {})  # no env_id attribute: the dims decide
    with pytest.raises(LitIRLError, match="observations have 11 dims, the env has 4; use a dataset of the configured env"):
        WorldModel(PENDULUM, str(unnamed), _tiny())

    not_a_world_model = tmp_path / "bc.ckpt"
    torch.save({"lit_irl": {"algo": "BC", "env_id": PENDULUM.env_id}, "state_dict": {}}, not_a_world_model)
    with pytest.raises(LitIRLError, match="written by BC, not by WorldModel; train one with `lit-irl fit"):
        load_world_model(not_a_world_model)
