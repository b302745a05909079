"""The NaN guard: a non-finite loss, gradient or parameter stops training in one line and never
overwrites the last good checkpoint; or, switched to skip, steps are skipped and counted."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from lit_irl.algos import SAC, OffPolicyConfig, TrainingConfig
from lit_irl.envs import EnvConfig
from lit_irl.policy import SACConfig, SACPolicy
from tests.conftest import run_cli, tiny_sac_args


def test_exploding_learning_rates_stop_in_one_line_and_keep_the_last_good_checkpoint(run_dir: Path):
    result = run_cli(
        "fit", *tiny_sac_args(run_dir, total=600, warmup=200),
        "--model.init_args.sac.actor_lr", "1e30", "--model.init_args.sac.critic_lr", "1e30", "--checkpoint.every_n_steps", "100",
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("lit-irl: error:")]
    (last,) = run_dir.glob("*/version_*/checkpoints/last.ckpt")
    assert "non-finite" in line and "at env step" in line and f"the last good checkpoint is {last}" in line, line
    state = torch.load(last, weights_only=False)
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point()), "last.ckpt holds finite weights"
    assert int(state["state_dict"]["env_steps"]) <= 300


def test_skip_mode_skips_and_counts_non_finite_steps(monkeypatch):
    original, calls = SACPolicy.critic_loss, {"n": 0}

    def sometimes_nan(self, batch, reward):
        calls["n"] += 1
        loss, stats = original(self, batch, reward)
        return (loss * float("nan"), stats) if calls["n"] % 10 == 0 else (loss, stats)

    monkeypatch.setattr(SACPolicy, "critic_loss", sometimes_nan)
    module = SAC(
        EnvConfig("InvertedPendulum-v5"), SACConfig(actor_hidden=[16], critic_hidden=[16], batch_size=32),
        training=TrainingConfig(total_steps=300, eval_episodes=1, on_nonfinite="skip", max_skipped_steps=100),
        off_policy=OffPolicyConfig(warmup_steps=100),
    )
    L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=-1).fit(module)
    assert int(module.skipped_steps) == calls["n"] // 10 > 0
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_fractional_utd_ratio_makes_that_many_updates():
    from lit_irl.algos.online import CollectionConfig
    from lit_irl.errors import LitIRLError

    def sac(utd: float) -> SAC:
        return SAC(
            EnvConfig("InvertedPendulum-v5"), SACConfig(actor_hidden=[16], critic_hidden=[16], batch_size=32),
            training=TrainingConfig(total_steps=300, eval_episodes=1), collection=CollectionConfig(env_steps_per_batch=10),
            off_policy=OffPolicyConfig(warmup_steps=100, utd_ratio=utd),
        )  # fmt: skip

    module = sac(0.5)
    L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=-1).fit(module)
    # Updates start with the batch that fills the warm-up (env step 100): 21 batches of 5 updates.
    assert module.updates_per_batch == 5 and module.updates == 5 * ((300 - 100) // 10 + 1)
    with pytest.raises(LitIRLError, match=r"utd_ratio 0.25 x 10 env steps per collection batch is 2.5 updates, not a whole number"):
        sac(0.25)


def test_direct_optimizer_steps_match_lightnings_route_and_give_way_to_hooks():
    """On one CPU in fp32 the learner steps the bare optimizers (faster); a callback that watches
    the optimizer step switches that off. Both routes give the same parameters and ``global_step``."""

    class CountSteps(L.Callback):
        def __init__(self) -> None:
            self.steps = 0

        def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
            self.steps += 1

    def fit(callbacks: list) -> tuple[SAC, L.Trainer]:
        module = SAC(
            EnvConfig("InvertedPendulum-v5"), SACConfig(actor_hidden=[16], critic_hidden=[16], batch_size=32),
            training=TrainingConfig(total_steps=300, eval_episodes=1), off_policy=OffPolicyConfig(warmup_steps=100),
        )  # fmt: skip
        trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=-1, callbacks=callbacks)
        trainer.fit(module)
        return module, trainer

    counter = CountSteps()
    (direct, direct_trainer), (routed, routed_trainer) = fit([]), fit([counter])
    assert direct._direct_steps and not routed._direct_steps
    # Critic and actor+alpha steps: two optimizers in the second backward, so 3 per update.
    assert direct_trainer.global_step == routed_trainer.global_step == counter.steps == 3 * direct.updates > 0
    for (name, a), b in zip(direct.state_dict().items(), routed.state_dict().values()):
        assert torch.equal(a, b), name


def test_bf16_mixed_precision_steps_directly_and_trains():
    """``--trainer.precision bf16-mixed`` (the README's opt-in for CPUs with bf16 units): Lightning's
    autocast wraps ``training_step``; the precision plugin adds nothing to backward or to the step (no
    loss scaler), so the learner steps directly as in fp32. Its fp32 weights move and stay finite, and
    the networks' outputs stay float32 under autocast (:class:`~lit_irl.nn.mlp.OutputLinear`)."""
    module = SAC(
        EnvConfig("InvertedPendulum-v5"), SACConfig(actor_hidden=[16], critic_hidden=[16], batch_size=32),
        training=TrainingConfig(total_steps=300, eval_episodes=1), off_policy=OffPolicyConfig(warmup_steps=100),
    )  # fmt: skip
    before = {k: v.clone() for k, v in module.state_dict().items()}
    trainer = L.Trainer(accelerator="cpu", precision="bf16-mixed", logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=-1)
    trainer.fit(module)
    assert module._direct_steps and module.updates > 0
    obs = torch.zeros(4, 4)  # InvertedPendulum-v5: 4 observations, 1 action
    with torch.autocast("cpu", dtype=torch.bfloat16):
        action, log_prob = module.policy.actor(obs)
        q = module.policy.critic(torch.cat([obs, action], -1))
    assert action.dtype == log_prob.dtype == q.dtype == torch.float32
    weights = {k: v for k, v in module.state_dict().items() if v.is_floating_point()}
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in weights.values())
    assert any(not torch.equal(v, before[k]) for k, v in weights.items())
