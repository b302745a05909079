"""Throughput of the spine, measured side by side in one run (absolute numbers on shared CPUs are noise).

    python tools/bench_throughput.py                 # Hopper-v5, nets (256, 256) and (64, 64)
    python tools/bench_throughput.py --quick         # fewer repeats
    python tools/bench_throughput.py --only sac_loop --widths 256 128 64   # the whole SAC loop per net width

Prints, for the same env, networks and batch:
  collection  env-steps/s: plain gymnasium loop (reference) | lit_irl fast EnvRunner (+ replay write)
              | TorchRL Collector over GymEnv (the library default path)
  AIRL        SAC updates/s: the SAC updates alone (reference) | AIRL relabelling each batch | lit_irl AIRL's loop
  IQ-Learn    updates/s:   two soft-value passes per half (reference) | lit_irl IQLearn.update | SAC on the same rows
  SAC update  updates/s:   minimal eager PyTorch SAC update (reference) | lit_irl SACPolicy.update
              | lit_irl SAC inside Lightning (LightningOptimizer + manual_backward + NaN guard)
              | TorchRL SACLoss
  training    env-steps/s: CleanRL-style whole loop (reference) | lit_irl SAC through Trainer.fit
  PPO         env-steps/s: CleanRL-style PPO loop (reference) | lit_irl PPO through Trainer.fit | SB3 PPO
  GAE         batches/s:   torch loop (reference) | lit_irl NumPy loop | TorchRL's functional GAE
  BC          gradient steps/s: plain PyTorch loop (reference) | lit_irl BC through Trainer.fit
  sequence    response tokens/s: plain PyTorch PPO / IRL loops (reference) | lit_irl PPO / IRL through Trainer.fit
Each measurement is repeated, interleaved, and the median is reported with its ratio to the reference.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from tensordict import TensorDict

from lit_irl import runtime
from lit_irl.data import EnvRunner, TransitionReplay
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.nn import TanhGaussianActor, mlp
from lit_irl.policy import SACConfig, SACPolicy

warnings.filterwarnings("ignore")
runtime.silence_known_warnings()


def median_rate(fn: Callable[[], int], repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def interleaved(candidates: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """Run candidates round-robin ``repeats`` times (so drifts in machine load hit all alike)."""
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            n = fn()
            rates[name].append(n / (time.perf_counter() - start))
    return {name: statistics.median(r) for name, r in rates.items()}


def report(title: str, unit: str, rates: dict[str, float]) -> None:
    names = list(rates)
    reference = rates[names[0]]
    print(f"\n{title}")
    for name in names:
        print(f"  {name:<58s} {rates[name]:9.1f} {unit}   {rates[name] / reference:5.2f}x")


# ---------------------------------------------------------------- collection
def bench_collection(env_id: str, hidden: list[int], steps: int, repeats: int) -> dict[str, float]:
    spec = probe_env(EnvConfig(env_id))
    actor = TanhGaussianActor(spec.obs_dim, spec.act_dim, hidden, spec.action_low, spec.action_high)

    env = gym.make(env_id)
    state = {"obs": env.reset(seed=0)[0]}

    def plain_gymnasium() -> int:
        obs = state["obs"]
        for _ in range(steps):
            with torch.no_grad():
                action = actor.act(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))[0].numpy()
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
        state["obs"] = obs
        return steps

    runner = EnvRunner(EnvConfig(env_id), seed=0)
    replay = TransitionReplay(1_000_000)

    def lit_irl_fast() -> int:
        transitions, _ = runner.collect(steps, actor)
        replay.extend(transitions.reshape(-1))
        return steps

    from tensordict.nn import TensorDictModule
    from torchrl.collectors import Collector
    from torchrl.envs import DoubleToFloat, GymEnv, TransformedEnv

    class Sample(torch.nn.Module):
        def forward(self, observation: torch.Tensor) -> torch.Tensor:
            return actor.act(observation)

    collector = Collector(
        lambda: TransformedEnv(GymEnv(env_id), DoubleToFloat()),
        TensorDictModule(Sample(), in_keys=["observation"], out_keys=["action"]),
        frames_per_batch=steps,
        total_frames=-1,
    )
    batches = iter(collector)

    def torchrl_collector() -> int:
        return next(batches).numel()

    rates = interleaved(
        {
            "plain gymnasium step loop (reference)": plain_gymnasium,
            "lit_irl EnvRunner, collector=fast (+ replay write)": lit_irl_fast,
            "TorchRL Collector(GymEnv + DoubleToFloat)": torchrl_collector,
        },
        repeats,
    )
    collector.shutdown()
    return rates


# -------------------------------------------------------------- SAC updates
class ReferenceSAC:
    """The minimal eager SAC update (CleanRL-style): two critic MLPs, default Adam, Polyak loop."""

    def __init__(self, policy: SACPolicy, config: SACConfig, obs_dim: int, act_dim: int) -> None:
        self.actor = copy.deepcopy(policy.actor)
        self.q1 = mlp(obs_dim + act_dim, config.critic_hidden, 1)
        self.q2 = mlp(obs_dim + act_dim, config.critic_hidden, 1)
        self.q1_target, self.q2_target = copy.deepcopy(self.q1), copy.deepcopy(self.q2)
        self.log_alpha = torch.zeros(1, requires_grad=True)
        self.q_opt = torch.optim.Adam([*self.q1.parameters(), *self.q2.parameters()], lr=config.critic_lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=config.alpha_lr)
        self.gamma, self.tau, self.target_entropy = config.gamma, config.tau, -act_dim

    def update(self, obs, action, reward, next_obs, terminated) -> None:
        alpha = self.log_alpha.exp().item()
        with torch.no_grad():
            next_action, next_logp = self.actor(next_obs)
            x = torch.cat([next_obs, next_action], 1)
            next_q = torch.min(self.q1_target(x), self.q2_target(x)).view(-1) - alpha * next_logp
            target = reward + (1 - terminated) * self.gamma * next_q
        x = torch.cat([obs, action], 1)
        q_loss = F.mse_loss(self.q1(x).view(-1), target) + F.mse_loss(self.q2(x).view(-1), target)
        self.q_opt.zero_grad()
        q_loss.backward()
        self.q_opt.step()

        pi, logp = self.actor(obs)
        x = torch.cat([obs, pi], 1)
        actor_loss = (alpha * logp - torch.min(self.q1(x), self.q2(x)).view(-1)).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        with torch.no_grad():
            _, logp = self.actor(obs)
        alpha_loss = (-self.log_alpha.exp() * (logp + self.target_entropy)).mean()
        self.alpha_opt.zero_grad()
        alpha_loss.backward()
        self.alpha_opt.step()

        with torch.no_grad():
            for net, target_net in ((self.q1, self.q1_target), (self.q2, self.q2_target)):
                for p, tp in zip(net.parameters(), target_net.parameters()):
                    tp.data.copy_(self.tau * p.data + (1 - self.tau) * tp.data)


def bench_updates(env_id: str, hidden: list[int], updates: int, repeats: int) -> dict[str, float]:
    spec = probe_env(EnvConfig(env_id))
    config = SACConfig(actor_hidden=hidden, critic_hidden=hidden, batch_size=256)
    n = 256
    batch = TensorDict(
        {
            "obs": torch.randn(n, spec.obs_dim),
            "action": torch.rand(n, spec.act_dim) * 2 - 1,
            "next_obs": torch.randn(n, spec.obs_dim),
            "true_reward": torch.randn(n),
            "terminated": torch.zeros(n, dtype=torch.bool),
            "done": torch.zeros(n, dtype=torch.bool),
        },
        batch_size=[n],
    )
    policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, config)
    optimizers = policy.make_optimizers()
    reference = ReferenceSAC(policy, config, spec.obs_dim, spec.act_dim)
    terminated = batch["terminated"].float()

    def reference_update() -> int:
        for _ in range(updates):
            reference.update(batch["obs"], batch["action"], batch["true_reward"], batch["next_obs"], terminated)
        return updates

    def ours() -> int:
        for _ in range(updates):
            policy.update(batch, batch["true_reward"], optimizers)
        return updates

    def ours_bf16() -> int:
        with torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False):  # as Lightning's bf16-mixed
            return ours()

    candidates = {"minimal eager PyTorch SAC update (reference)": reference_update, "lit_irl SACPolicy.update": ours,
                  "lit_irl SACPolicy.update under bf16 autocast": ours_bf16}  # fmt: skip
    candidates["lit_irl SAC in Lightning (manual_backward, LightningOptimizer)"] = lightning_updates(batch, spec, config, updates)
    torchrl_loss = torchrl_sac_updates(batch, spec, config, updates)
    if torchrl_loss is not None:
        candidates["TorchRL SACLoss (same nets)"] = torchrl_loss
    return interleaved(candidates, repeats)


def lightning_updates(batch: TensorDict, spec, config: SACConfig, updates: int) -> Callable[[], int]:
    """Our update as the SAC module runs it: Lightning-wrapped optimizers and manual_backward."""
    import lightning as L

    from lit_irl.algos import SAC, OffPolicyConfig, TrainingConfig

    module = SAC(EnvConfig(spec.env_id), sac=config, training=TrainingConfig(total_steps=10**9), off_policy=OffPolicyConfig(warmup_steps=0))
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, max_steps=1)
    trainer.strategy.connect(module)
    trainer.strategy._lightning_module = module
    module.trainer = trainer
    trainer.strategy.setup_optimizers(trainer)
    from lightning.pytorch.core.optimizer import LightningOptimizer

    optimizers = [LightningOptimizer._to_lightning_optimizer(o, trainer.strategy) for o in trainer.strategy.optimizers]
    trainer.strategy._lightning_optimizers = optimizers

    def run() -> int:
        for _ in range(updates):
            module.policy.update(batch, batch["true_reward"], optimizers, module.optimizer_step)
        return updates

    return run


def torchrl_sac_updates(batch: TensorDict, spec, config: SACConfig, updates: int) -> Callable[[], int] | None:
    try:
        from tensordict.nn import NormalParamExtractor, TensorDictModule
        from torchrl.modules import MLP, ProbabilisticActor, TanhNormal, ValueOperator
        from torchrl.objectives import SACLoss, SoftUpdate
    except ImportError:
        return None
    actor_net = torch.nn.Sequential(mlp(spec.obs_dim, config.actor_hidden, 2 * spec.act_dim), NormalParamExtractor())
    actor = ProbabilisticActor(
        TensorDictModule(actor_net, in_keys=["observation"], out_keys=["loc", "scale"]),
        in_keys=["loc", "scale"],
        distribution_class=TanhNormal,
        distribution_kwargs={"low": spec.action_low, "high": spec.action_high},
    )
    qvalue = ValueOperator(MLP(in_features=spec.obs_dim + spec.act_dim, out_features=1, num_cells=config.critic_hidden), in_keys=["observation", "action"])
    loss = SACLoss(actor, qvalue, num_qvalue_nets=2, target_entropy=-float(spec.act_dim))
    loss.make_value_estimator(gamma=config.gamma)
    target = SoftUpdate(loss, eps=1 - config.tau)
    optimizer = torch.optim.Adam(loss.parameters(), lr=config.critic_lr)
    td = TensorDict(
        {
            "observation": batch["obs"],
            "action": batch["action"],
            "next": {
                "observation": batch["next_obs"],
                "reward": batch["true_reward"].unsqueeze(-1),
                "done": batch["terminated"].unsqueeze(-1),
                "terminated": batch["terminated"].unsqueeze(-1),
            },
        },
        batch_size=batch.batch_size,
    )

    def run() -> int:
        for _ in range(updates):
            losses = loss(td.clone(False))
            total = losses["loss_actor"] + losses["loss_qvalue"] + losses["loss_alpha"]
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            target.step()
        return updates

    return run


def bench_training_loop(env_id: str, hidden: list[int], steps: int, repeats: int) -> dict[str, float]:
    """Whole SAC training, one update per env step after a short warm-up: env-steps/s end to end."""
    import lightning as L

    from lit_irl.algos import SAC, CollectionConfig, OffPolicyConfig, TrainingConfig

    spec = probe_env(EnvConfig(env_id))
    config = SACConfig(actor_hidden=hidden, critic_hidden=hidden, batch_size=256)
    warmup = 256

    def reference_loop() -> int:
        policy = SACPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, config)
        agent = ReferenceSAC(policy, config, spec.obs_dim, spec.act_dim)
        env = gym.make(env_id)
        size = steps
        buf = {k: np.zeros((size, d), np.float32) for k, d in (("o", spec.obs_dim), ("a", spec.act_dim), ("o2", spec.obs_dim))}
        rew, term = np.zeros(size, np.float32), np.zeros(size, np.float32)
        obs, _ = env.reset(seed=0)
        for t in range(steps):
            if t < warmup:
                action = env.action_space.sample()
            else:
                action = agent.actor.act(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))[0].numpy()
            next_obs, r, terminated, truncated, _ = env.step(action)
            buf["o"][t], buf["a"][t], buf["o2"][t], rew[t], term[t] = obs, action, next_obs, r, terminated
            obs = env.reset()[0] if terminated or truncated else next_obs
            if t >= warmup:
                idx = np.random.randint(0, t + 1, 256)
                agent.update(*(torch.from_numpy(x[idx]) for x in (buf["o"], buf["a"], rew, buf["o2"], term)))
        return steps

    def lit_irl_fit(precision: str = "32-true") -> int:
        module = SAC(
            EnvConfig(env_id),
            sac=config,
            training=TrainingConfig(total_steps=steps, eval_episodes=1),
            collection=CollectionConfig(env_steps_per_batch=10),
            off_policy=OffPolicyConfig(warmup_steps=warmup),
        )
        trainer = L.Trainer(accelerator="cpu", devices=1, precision=precision, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, max_epochs=-1)  # fmt: skip
        trainer.fit(module)
        return steps

    candidates = {
        "CleanRL-style loop: gymnasium + numpy replay + eager update (reference)": reference_loop,
        "lit_irl SAC, Trainer.fit (collector=fast)": lit_irl_fit,
        # bf16 hidden layers, fp32 outputs and weights (OutputLinear): its speed depends on the CPU's bf16 units
        "lit_irl SAC, Trainer.fit, --trainer.precision bf16-mixed": lambda: lit_irl_fit("bf16-mixed"),
    }
    try:
        from stable_baselines3 import SAC as SB3SAC

        def sb3() -> int:
            # As a new user would run it: same nets, batch, warm-up and one update per env step.
            model = SB3SAC("MlpPolicy", env_id, policy_kwargs={"net_arch": hidden}, batch_size=256, learning_starts=warmup, train_freq=1,
                           gradient_steps=1, buffer_size=steps, device="cpu", seed=0, verbose=0)
            model.learn(steps)
            return steps

        candidates["Stable-Baselines3 SAC (same nets, batch, warm-up, UTD 1)"] = sb3
    except ImportError:
        print("  (stable-baselines3 not installed: its column is skipped; pip install -e '.[bench]')")
    return interleaved(candidates, repeats)


# ---------------------------------------------------------------------- PPO
PPO_STEPS = 2048  # env steps per iteration (1 env), 10 epochs of minibatches of 64, (64, 64) tanh nets


def cleanrl_style_ppo(env_id: str, iterations: int) -> int:
    """The plain reference: CleanRL's ppo_continuous_action.py loop (gymnasium SyncVectorEnv with its
    normalization wrappers, per-step actor+critic forward, torch GAE loop, 10 x 32 minibatch updates)."""
    from torch.distributions import Normal

    def make():
        env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env = gym.wrappers.ClipAction(env)
        env = gym.wrappers.NormalizeObservation(env)
        env = gym.wrappers.TransformObservation(env, lambda o: np.clip(o, -10, 10), env.observation_space)
        env = gym.wrappers.NormalizeReward(env, gamma=0.99)
        return gym.wrappers.TransformReward(env, lambda r: np.clip(r, -10, 10))

    envs = gym.vector.SyncVectorEnv([make])
    obs_dim, act_dim = envs.single_observation_space.shape[0], envs.single_action_space.shape[0]
    critic = mlp(obs_dim, [64, 64], 1, "tanh")
    actor_mean = mlp(obs_dim, [64, 64], act_dim, "tanh")
    actor_logstd = torch.nn.Parameter(torch.zeros(1, act_dim))
    optimizer = torch.optim.Adam([*critic.parameters(), *actor_mean.parameters(), actor_logstd], lr=3e-4, eps=1e-5)

    def get_action_and_value(x, action=None):
        mean = actor_mean(x)
        dist = Normal(mean, actor_logstd.expand_as(mean).exp())
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action).sum(1), dist.entropy().sum(1), critic(x)

    obs_buf = torch.zeros((PPO_STEPS, 1, obs_dim))
    act_buf = torch.zeros((PPO_STEPS, 1, act_dim))
    logp_buf, rew_buf, done_buf, val_buf = (torch.zeros((PPO_STEPS, 1)) for _ in range(4))
    next_obs = torch.Tensor(envs.reset(seed=0)[0])
    next_done = torch.zeros(1)
    for _ in range(iterations):
        for step in range(PPO_STEPS):
            obs_buf[step], done_buf[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value = get_action_and_value(next_obs)
            val_buf[step], act_buf[step], logp_buf[step] = value.flatten(), action, logprob
            next_obs_np, reward, terminations, truncations, _ = envs.step(action.numpy())
            rew_buf[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs_np), torch.Tensor(np.logical_or(terminations, truncations).astype(np.float32))
        with torch.no_grad():
            next_value = critic(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rew_buf)
            lastgaelam = 0
            for t in reversed(range(PPO_STEPS)):
                nextnonterminal, nextvalues = (1.0 - next_done, next_value) if t == PPO_STEPS - 1 else (1.0 - done_buf[t + 1], val_buf[t + 1])
                delta = rew_buf[t] + 0.99 * nextvalues * nextnonterminal - val_buf[t]
                advantages[t] = lastgaelam = delta + 0.99 * 0.95 * nextnonterminal * lastgaelam
            returns = advantages + val_buf
        b_obs, b_act, b_logp = obs_buf.reshape(-1, obs_dim), act_buf.reshape(-1, act_dim), logp_buf.reshape(-1)
        b_adv, b_ret, b_val = advantages.reshape(-1), returns.reshape(-1), val_buf.reshape(-1)
        for _ in range(10):
            order = np.random.permutation(PPO_STEPS)
            for start in range(0, PPO_STEPS, 64):
                mb = order[start : start + 64]
                _, newlogprob, entropy, newvalue = get_action_and_value(b_obs[mb], b_act[mb])
                ratio = (newlogprob - b_logp[mb]).exp()
                mb_adv = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
                pg_loss = torch.max(-mb_adv * ratio, -mb_adv * ratio.clamp(0.8, 1.2)).mean()
                newvalue = newvalue.view(-1)
                v_clipped = b_val[mb] + (newvalue - b_val[mb]).clamp(-0.2, 0.2)
                v_loss = 0.5 * torch.max((newvalue - b_ret[mb]) ** 2, (v_clipped - b_ret[mb]) ** 2).mean()
                loss = pg_loss - 0.0 * entropy.mean() + 0.5 * v_loss
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([*critic.parameters(), *actor_mean.parameters(), actor_logstd], 0.5)
                optimizer.step()
    envs.close()
    return iterations * PPO_STEPS


def bench_ppo(env_id: str, iterations: int, repeats: int) -> dict[str, float]:
    """Whole PPO training (collection + GAE + 10 epochs of updates) per env step, same settings."""
    import lightning as L

    from lit_irl.algos import PPO, CollectionConfig, TrainingConfig

    def lit_irl_fit() -> int:
        module = PPO(
            EnvConfig(env_id),
            training=TrainingConfig(total_steps=iterations * PPO_STEPS, eval_episodes=1),
            collection=CollectionConfig(env_steps_per_batch=PPO_STEPS),
        )
        trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, max_epochs=-1)
        trainer.fit(module)
        return iterations * PPO_STEPS

    candidates = {
        "CleanRL-style PPO: gymnasium vector env + eager torch (reference)": lambda: cleanrl_style_ppo(env_id, iterations),
        "lit_irl PPO, Trainer.fit": lit_irl_fit,
    }
    try:
        from stable_baselines3 import PPO as SB3PPO
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.vec_env import VecNormalize

        def sb3() -> int:
            env = VecNormalize(make_vec_env(env_id, n_envs=1, seed=0), gamma=0.99)
            model = SB3PPO("MlpPolicy", env, n_steps=PPO_STEPS, batch_size=64, n_epochs=10, device="cpu", seed=0, verbose=0)
            model.learn(iterations * PPO_STEPS)
            env.close()
            return iterations * PPO_STEPS

        candidates["Stable-Baselines3 PPO (same settings, VecNormalize)"] = sb3
    except ImportError:
        print("  (stable-baselines3 not installed: its column is skipped; pip install -e '.[bench]')")
    return interleaved(candidates, repeats)


def bench_ppo_updates(env_id: str, repeats: int) -> dict[str, float]:
    """One epoch of PPO minibatch updates (32 x 64) on a fixed batch: lit_irl's losses + step vs
    TorchRL's ClipPPOLoss with the same (64, 64) tanh nets and settings."""
    from lit_irl.policy.ppo import PPOConfig, PPOPolicy

    spec = probe_env(EnvConfig(env_id))
    config = PPOConfig(update_epochs=1)
    policy = PPOPolicy(spec.obs_dim, spec.act_dim, spec.action_low, spec.action_high, config)
    optimizer = policy.make_optimizer()
    n = PPO_STEPS
    obs, action = torch.randn(n, spec.obs_dim), torch.randn(n, spec.act_dim) * 0.5
    with torch.no_grad():
        log_prob = policy.actor.log_prob(obs, action)
    batch = TensorDict({"obs": obs, "action": action, "log_prob": log_prob, "value": torch.randn(n), "advantage": torch.randn(n), "return": torch.randn(n)}, batch_size=[n])

    def ours() -> int:
        policy.update(batch, optimizer)
        return n // config.minibatch_size

    candidates = {"lit_irl PPOPolicy.update (plain tensors) (reference)": ours}
    try:
        from tensordict.nn import NormalParamExtractor, TensorDictModule
        from torchrl.modules import ProbabilisticActor, TanhNormal, ValueOperator
        from torchrl.objectives import ClipPPOLoss
    except ImportError:
        return interleaved(candidates, repeats)
    actor_net = torch.nn.Sequential(mlp(spec.obs_dim, [64, 64], 2 * spec.act_dim, "tanh"), NormalParamExtractor())
    actor = ProbabilisticActor(TensorDictModule(actor_net, in_keys=["observation"], out_keys=["loc", "scale"]), in_keys=["loc", "scale"],
                               distribution_class=TanhNormal, return_log_prob=True)
    critic = ValueOperator(mlp(spec.obs_dim, [64, 64], 1, "tanh"), in_keys=["observation"])
    loss_module = ClipPPOLoss(actor, critic, clip_epsilon=0.2, entropy_bonus=False, critic_coeff=0.5, normalize_advantage=True)
    torchrl_optimizer = torch.optim.Adam(loss_module.parameters(), lr=3e-4, eps=1e-5, fused=True)
    td = TensorDict({"observation": obs, "action": action.tanh(), "sample_log_prob": log_prob, "action_log_prob": log_prob,
                     "advantage": torch.randn(n, 1), "value_target": torch.randn(n, 1), "state_value": torch.randn(n, 1)}, batch_size=[n])

    def torchrl() -> int:
        order = torch.randperm(n)
        for start in range(0, n, 64):
            losses = loss_module(td[order[start : start + 64]])
            total = losses["loss_objective"] + losses["loss_critic"]
            torchrl_optimizer.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(loss_module.parameters(), 0.5)
            torchrl_optimizer.step()
        return n // 64

    candidates["TorchRL ClipPPOLoss (same nets, TensorDict minibatches)"] = torchrl
    return interleaved(candidates, repeats)


def bench_bc(env_id: str, steps: int, repeats: int) -> dict[str, float]:
    """BC gradient steps/s: a plain PyTorch loop (same actor, Adam, batch 256, -log pi(a|s)) vs BC
    through Trainer.fit (minibatches drawn in training_step, the NaN guard, logging)."""
    import lightning as L

    from lit_irl.algos import BC, TrainingConfig
    from lit_irl.data.d4rl import load_dataset

    demos = "zoo/Hopper-v5/expert_demos.hdf5"
    data = load_dataset(demos)
    obs, actions = torch.from_numpy(data.observations), torch.from_numpy(data.actions)
    spec = probe_env(EnvConfig(env_id))

    def plain() -> int:
        actor = TanhGaussianActor(spec.obs_dim, spec.act_dim, [256, 256], spec.action_low, spec.action_high)
        optimizer = torch.optim.Adam(actor.parameters(), lr=3e-4)
        for _ in range(steps):
            index = torch.randint(0, obs.shape[0], (256,))
            loss = -actor.log_prob(obs[index], actions[index]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return steps

    def lit_irl_fit() -> int:
        module = BC(EnvConfig(env_id), demos, num_trajectories=None, normalize_obs=False, training=TrainingConfig(total_steps=steps, eval_episodes=1))
        L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, max_epochs=-1).fit(module)
        return steps

    return interleaved({"plain PyTorch BC loop (reference)": plain, "lit_irl BC, Trainer.fit": lit_irl_fit}, repeats)


def bench_gae(repeats: int) -> dict[str, float]:
    """GAE over one PPO batch (2048 x 1): ours (NumPy loop), a torch loop, TorchRL's functional GAE."""
    from lit_irl.policy.ppo import generalized_advantages

    torch.manual_seed(0)
    rewards, values, next_values = torch.randn(PPO_STEPS, 1), torch.randn(PPO_STEPS, 1), torch.randn(PPO_STEPS, 1)
    terminated = torch.rand(PPO_STEPS, 1) < 0.002
    done = terminated | (torch.rand(PPO_STEPS, 1) < 0.001)
    batches = 20

    def torch_loop() -> int:
        for _ in range(batches):
            advantages, running = torch.zeros_like(rewards), torch.zeros(1)
            deltas = rewards + 0.99 * (~terminated).float() * next_values - values
            carry = 0.99 * 0.95 * (~done).float()
            for t in range(PPO_STEPS - 1, -1, -1):
                running = deltas[t] + carry[t] * running
                advantages[t] = running
        return batches

    def ours() -> int:
        for _ in range(batches):
            generalized_advantages(rewards, values, next_values, terminated, done, 0.99, 0.95)
        return batches

    candidates = {"torch loop over T (reference)": torch_loop, "lit_irl generalized_advantages (NumPy loop)": ours}
    try:
        from torchrl.objectives.value.functional import generalized_advantage_estimate

        def torchrl_gae() -> int:
            for _ in range(batches):
                generalized_advantage_estimate(0.99, 0.95, values.T.unsqueeze(-1), next_values.T.unsqueeze(-1), rewards.T.unsqueeze(-1),
                                               done.T.unsqueeze(-1), terminated.T.unsqueeze(-1))
            return batches

        candidates["TorchRL generalized_advantage_estimate"] = torchrl_gae
    except ImportError:
        pass
    return interleaved(candidates, repeats)


# ---------------------------------------------------------------- sequence level
def bench_sequence(iterations: int, repeats: int) -> dict[str, dict[str, float]]:
    """Response tokens sampled per second by the sequence-level PPO (gold reward) and IRL (RLOO policy steps
    + reward steps) loops, each against a plain PyTorch loop on the same tiny transformer doing the same
    computation (sampling, log-probs, advantages, Adam steps) without Lightning or our learner classes."""
    import lightning as L

    from lit_irl.algos import TrainingConfig
    from lit_irl.sequence import IRL, PPO, SyntheticWorld, WorldConfig
    from lit_irl.sequence.model import TinyTransformer, TransformerConfig, frozen_copy

    world_config, model_config = WorldConfig(), TransformerConfig()
    world = SyntheticWorld(world_config)
    prompt_length, horizon, batch, beta, epochs = world_config.prompt_length, world_config.horizon, 64, 0.05, 4

    def fit(module) -> None:
        L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                  max_epochs=-1).fit(module)  # fmt: skip

    def sample(policy: TinyTransformer, prompts: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        tokens = prompts
        for _ in range(horizon):
            probs = F.softmax(policy(tokens)[:, -1], -1)
            tokens = torch.cat([tokens, torch.multinomial(probs, 1, generator=generator)], -1)
        return tokens

    def token_log_probs(policy: TinyTransformer, tokens: torch.Tensor) -> torch.Tensor:
        logits = policy(tokens[:, :-1])[:, prompt_length - 1 :]
        return torch.gather(F.log_softmax(logits, -1), -1, tokens[:, prompt_length:, None]).squeeze(-1)

    def plain_ppo() -> int:
        generator = torch.Generator().manual_seed(0)
        policy = TinyTransformer(model_config)
        reference, critic = frozen_copy(policy), copy.deepcopy(policy)
        optimizer, critic_optimizer = torch.optim.Adam(policy.parameters(), lr=1e-4), torch.optim.Adam(critic.parameters(), lr=1e-4)
        for _ in range(iterations):
            with torch.no_grad():
                tokens = sample(policy, world.sample_prompts(batch, generator), generator)
                old = token_log_probs(policy, tokens)
                rewards = -beta * (old - token_log_probs(reference, tokens))
                rewards[:, -1] += world.gold_reward(tokens[:, :prompt_length], tokens[:, prompt_length:]).float()
                values = critic.value_head(critic.features(tokens[:, :-1])).squeeze(-1)[:, prompt_length - 1 :]
                advantages, running = torch.zeros_like(rewards), torch.zeros(batch)
                for h in reversed(range(horizon)):
                    next_value = values[:, h + 1] if h + 1 < horizon else torch.zeros(batch)
                    running = rewards[:, h] + next_value - values[:, h] + 0.95 * running
                    advantages[:, h] = running
                returns = advantages + values
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            for _ in range(epochs):
                ratio = (token_log_probs(policy, tokens) - old).exp()
                policy_loss = torch.max(-advantages * ratio, -advantages * ratio.clamp(0.8, 1.2)).mean()
                new_values = critic.value_head(critic.features(tokens[:, :-1])).squeeze(-1)[:, prompt_length - 1 :]
                clipped = values + (new_values - values).clamp(-0.2, 0.2)
                value_loss = 0.5 * torch.max((new_values - returns) ** 2, (clipped - returns) ** 2).mean()
                optimizer.zero_grad()
                critic_optimizer.zero_grad()
                (policy_loss + 0.1 * value_loss).backward()
                optimizer.step()
                critic_optimizer.step()
        return iterations * batch * horizon

    # The learners are built outside the timed loops (as the plain loops' world is): the loops are compared.
    ppo_modules = [PPO(world_config, model_config, beta=beta, batch_size=batch, eval_prompts=batch,
                       training=TrainingConfig(total_steps=iterations * epochs, log_every=10**9)) for _ in range(repeats + 1)]  # fmt: skip

    def lit_irl_ppo() -> int:
        fit(ppo_modules.pop())
        return iterations * batch * horizon

    policy_steps, reward_steps, samples, demos = 20, 5, 4, 1000
    irl_rounds = max(iterations // 10, 1)

    def plain_irl() -> int:
        generator = torch.Generator().manual_seed(0)
        policy = TinyTransformer(model_config)
        reference, reward = frozen_copy(policy), copy.deepcopy(policy)
        demo_prompts = world.sample_prompts(demos, generator)
        demo_tokens = torch.cat([demo_prompts, world.sample_responses(demo_prompts, generator)], -1)
        optimizer, reward_optimizer = torch.optim.Adam(policy.parameters(), lr=1e-4), torch.optim.Adam(reward.parameters(), lr=1e-4)

        def score(tokens: torch.Tensor) -> torch.Tensor:
            return reward.value_head(reward.features(tokens)).squeeze(-1)[:, -1]

        for _ in range(irl_rounds):
            for _ in range(policy_steps):
                with torch.no_grad():
                    tokens = sample(policy, world.sample_prompts(batch, generator).repeat_interleave(samples, 0), generator)
                log_probs = token_log_probs(policy, tokens).sum(-1)
                with torch.no_grad():
                    rewards = (score(tokens) - 0.1 * (log_probs - token_log_probs(reference, tokens).sum(-1))).view(-1, samples)
                    advantages = rewards - (rewards.sum(-1, keepdim=True) - rewards) / (samples - 1)
                loss = -(advantages.flatten() * log_probs).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                rejected = sample(policy, demo_tokens[:, :prompt_length], generator)
            for _ in range(reward_steps):
                rows = torch.randint(0, demos, (batch,))
                loss = -(score(demo_tokens[rows]) - score(rejected[rows])).mean()
                reward_optimizer.zero_grad()
                loss.backward()
                reward_optimizer.step()
        return irl_rounds * (policy_steps * batch * samples + demos) * horizon

    irl_modules = [IRL(world_config, model_config, num_demonstrations=demos, policy_steps=policy_steps, reward_steps=reward_steps,
                       policy_update="rloo", rloo_samples=samples, batch_size=batch, eval_prompts=batch,
                       training=TrainingConfig(total_steps=irl_rounds * (policy_steps + reward_steps), log_every=10**9)) for _ in range(repeats + 1)]  # fmt: skip

    def lit_irl_irl() -> int:
        fit(irl_modules.pop())
        return irl_rounds * (policy_steps * batch * samples + demos) * horizon

    return {
        "ppo": interleaved({"plain PyTorch token-level PPO loop (reference)": plain_ppo, "lit_irl sequence PPO, Trainer.fit": lit_irl_ppo}, repeats),
        "irl": interleaved({"plain PyTorch IRL loop, RLOO + reward steps (reference)": plain_irl, "lit_irl sequence IRL, Trainer.fit": lit_irl_irl}, repeats),
    }


# ---------------------------------------------------------------- world model
def bench_world_model_training(env_id: str, steps: int, repeats: int) -> dict[str, float]:
    """Gradient steps of a 7-member 4x200 SiLU Gaussian ensemble, batch 256 per member: one batched
    pass vs the same members as separate MLPs stepped one after another (what the official code does)."""
    from lit_irl.models.world_model import GaussianEnsemble

    spec = probe_env(EnvConfig(env_id))
    members, batch, hidden = 7, 256, [200, 200, 200, 200]
    obs, action = torch.randn(members, batch, spec.obs_dim), torch.randn(members, batch, spec.act_dim)
    next_obs = obs + 0.1 * torch.randn_like(obs)
    ensemble = GaussianEnsemble(spec.obs_dim, spec.act_dim, num_models=members, num_elites=5, hidden=hidden)
    optimizer = torch.optim.Adam(ensemble.parameter_groups(), lr=1e-3)

    def batched() -> int:
        for _ in range(steps):
            loss = ensemble.nll_loss(obs, action, next_obs) + ensemble.logvar_bound_loss()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return steps * members

    def member_mlp() -> torch.nn.Module:
        layers, width = [], spec.obs_dim + spec.act_dim
        for size in hidden:
            layers += [torch.nn.Linear(width, size), torch.nn.SiLU()]
            width = size
        return torch.nn.Sequential(*layers, torch.nn.Linear(width, 2 * spec.obs_dim))

    loop_members = [member_mlp() for _ in range(members)]
    loop_optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in loop_members]

    def python_loop() -> int:
        for _ in range(steps):
            for k, (member, member_optimizer) in enumerate(zip(loop_members, loop_optimizers)):
                mean, logvar = member(torch.cat([obs[k], action[k]], -1)).chunk(2, -1)
                loss = ((next_obs[k] - obs[k] - mean).square() * torch.exp(-logvar) + logvar).mean()
                member_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                member_optimizer.step()
        return steps * members

    return interleaved({"members in a Python loop, one Adam each (reference)": python_loop, "GaussianEnsemble, one batched pass": batched}, repeats)


def bench_model_rollouts(env_id: str, steps: int, repeats: int) -> dict[str, float]:
    """Model-rollout transitions/s, 10,000 rows, policy excluded: all in torch (batched members,
    elite pick, Gaussian sample, termination function) vs members called one by one with a numpy
    round trip per step (what the official code's rollouts do)."""
    from lit_irl.models.termination import termination_of
    from lit_irl.models.world_model import GaussianEnsemble

    spec = probe_env(EnvConfig(env_id))
    rows = 10_000
    ensemble = GaussianEnsemble(spec.obs_dim, spec.act_dim, num_models=7, num_elites=5).eval()
    terminated = termination_of(env_id)
    start, actions = torch.randn(rows, spec.obs_dim) * 0.1, torch.rand(steps, rows, spec.act_dim) * 2 - 1
    generator = torch.Generator().manual_seed(0)

    @torch.no_grad()
    def ours() -> int:
        obs = start.clone()
        for t in range(steps):
            mean, logvar = ensemble(obs, actions[t])
            obs = ensemble.sample(obs, mean, logvar, generator)[0]
            done = terminated(obs) if terminated else None  # noqa: F841
        return steps * rows

    layer_count = len(ensemble.net.layers)

    @torch.no_grad()
    def numpy_loop() -> int:
        rng, obs = np.random.default_rng(0), start.numpy().copy()
        elites = ensemble.elites.numpy()
        for t in range(steps):
            inputs = np.concatenate([obs, actions[t].numpy()], -1)
            means, stds = [], []
            for member in range(ensemble.num_models):  # one member at a time, out to numpy and back
                x = ((torch.from_numpy(inputs) - ensemble.input_mean) / ensemble.input_std).clamp(-10.0, 10.0)
                for k, layer in enumerate(ensemble.net.layers):
                    x = x @ layer.weight[member] + layer.bias[member]
                    if k < layer_count - 1:
                        x = torch.nn.functional.silu(x)
                logvar = x[:, spec.obs_dim :]  # the same soft bounds as the ensemble's
                logvar = ensemble.max_logvar - torch.nn.functional.softplus(ensemble.max_logvar - logvar)
                logvar = ensemble.min_logvar + torch.nn.functional.softplus(logvar - ensemble.min_logvar)
                mean, logvar = x[:, : spec.obs_dim].numpy(), logvar.numpy()
                means.append(mean), stds.append(np.exp(0.5 * logvar))
            pick = elites[rng.integers(0, len(elites), rows)]
            chosen = np.stack(means)[pick, np.arange(rows)] + rng.standard_normal((rows, spec.obs_dim)) * np.stack(stds)[pick, np.arange(rows)]
            obs = (obs + chosen).astype(np.float32)
            done = (obs[:, 0] <= 0.7) | (np.abs(obs[:, 1]) >= 0.2)  # Hopper's test, in numpy  # noqa: F841
        return steps * rows

    return interleaved({"members one by one, numpy round trip per step (reference)": numpy_loop, "GaussianEnsemble.forward + sample + termination, torch": ours}, repeats)


def bench_iq_learn_updates(env_id: str, updates: int, repeats: int) -> dict[str, float]:
    """IQ-Learn updates/s, (256, 256), 256 expert + 256 agent rows: the soft values of the two halves in
    two passes each (the straightforward form, and ours before) vs one pass over both halves (ours), beside a
    plain SAC update on the same 512 rows (the work IQ-Learn's update cannot go below)."""
    from lit_irl.algos.iq_learn import IQLearn, iq_critic_loss

    demonstrations = "zoo/Hopper-v5/expert_demos.hdf5"
    if env_id != "Hopper-v5":
        raise SystemExit("the IQ-Learn measurement reads the zoo's Hopper-v5 demonstrations: run it with --env Hopper-v5")
    config = SACConfig(actor_lr=3e-5, critic_lr=3e-4, init_alpha=0.01, learn_alpha=False, batch_size=256)
    learner = IQLearn(EnvConfig(env_id), demonstrations, loss="v0", sac=config)
    learner.replay = TransitionReplay(10_000, hide_true_reward=True)
    agent_rows = learner.expert[:2_000].clone()
    agent_rows.update({"action": torch.rand_like(agent_rows["action"]) * 2 - 1, "true_reward": torch.zeros(agent_rows.shape[0]),
                       "done": agent_rows["terminated"].clone()})  # fmt: skip
    learner.replay.extend(agent_rows)
    optimizers = learner.policy.make_optimizers()
    policy = learner.policy

    def step(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    learner.optimizer_step = lambda loss, optimizer, name: step(loss, optimizer)  # no Trainer: plain steps

    def two_pass_values(batch: TensorDict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q = policy.critic(torch.cat([batch["obs"], batch["action"]], -1)).squeeze(-1)
        with torch.no_grad():
            action, log_prob = policy.actor(batch["obs"])
            next_action, next_log_prob = policy.actor(batch["next_obs"])
            next_q = policy.critic_target(torch.cat([batch["next_obs"], next_action], -1)).min(0).values.squeeze(-1)
            target = config.gamma * (~batch["terminated"].bool()).float() * (next_q - policy.alpha * next_log_prob)
        value = policy.critic(torch.cat([batch["obs"], action], -1)).min(0).values.squeeze(-1) - policy.alpha * log_prob
        return q, value, target

    def two_passes() -> int:
        for _ in range(updates):
            expert = learner.expert[torch.randint(0, learner.expert.shape[0], (256,))]
            agent = learner.replay.sample(256)
            (q_e, v_e, y_e), (q_p, v_p, y_p) = two_pass_values(expert), two_pass_values(agent)
            step(sum(iq_critic_loss(q_e[k], q_p[k], v_e, v_p, y_e, y_p, config.gamma, "v0", 0.5)[0] for k in range(2)), optimizers[0])
            step(policy.actor_loss(torch.cat([expert["obs"], agent["obs"]]))[0], optimizers[1])
            policy.update_target()
        return updates

    def ours() -> int:
        for _ in range(updates):
            learner.update(optimizers)
        return updates

    sac_batch = torch.cat([learner.expert[:256], learner.replay.sample(256).select(*learner.expert.keys())])

    def sac_same_rows() -> int:
        for _ in range(updates):
            policy.update(sac_batch, torch.zeros(512), optimizers)
        return updates

    return interleaved({"IQ-Learn, soft values in two passes per half (reference)": two_passes, "lit_irl IQLearn.update, one pass": ours,
                        "plain SAC update on the same 512 rows": sac_same_rows}, repeats)  # fmt: skip


def bench_reward_dtype(repeats: int) -> None:
    """The reward side of the baselines in float32 vs bfloat16 autocast (``RewardConfig.compute_dtype``), at the
    Hopper configs' sizes: f-IRL's classifier step (2 x 128 tanh on 800 expert + 800 agent states), AIRL's
    discriminator step (g and h, 2 x 256 ReLU: g on 256 + 256 states, h on their s and s') and AIRL's relabelling
    of one SAC batch of 100 (g on 100 states, h on 200), with the largest reward difference the dtype makes."""
    from lit_irl.rewards import RewardConfig, RewardModel
    from lit_irl.rewards.adversarial import discriminator_loss

    def states(n: int) -> TensorDict:
        return TensorDict({"obs": torch.randn(n, 11)}, batch_size=[n])

    for title, hidden, activation, rows, shaping, train in (
        ("f-IRL classifier step, 2 x 128 tanh, 800 + 800 states", [128, 128], "tanh", 1600, False, True),
        ("AIRL discriminator step, g and h 2 x 256 ReLU, 256 + 256 transitions", [256, 256], "relu", 512, True, True),
        ("AIRL relabelling of a SAC batch of 100 (g on 100 states, h on 200)", [256, 256], "relu", 100, True, False),
    ):
        obs, next_obs = states(rows), states(rows)
        nets = {}
        for dtype in ("float32", "bfloat16"):
            torch.manual_seed(0)
            config = RewardConfig(hidden=hidden, activation=activation, clamp=None, compute_dtype=dtype)
            nets[dtype] = [RewardModel(11, 3, config) for _ in range(2 if shaping else 1)]

        def output(models: list[RewardModel]) -> torch.Tensor:
            if not shaping:
                return models[0](obs)
            h = models[1](torch.cat([obs, next_obs]))  # h(s) and h(s') in one pass, as AIRL.shaped_reward
            return models[0](obs) + 0.99 * h[rows:] - h[:rows]

        def candidate(models: list[RewardModel]) -> Callable[[], int]:
            optimizer = torch.optim.Adam([p for model in models for p in model.parameters()], lr=1e-4)

            def run() -> int:
                for _ in range(20):
                    if not train:
                        with torch.no_grad():
                            output(models)
                        continue
                    loss, _ = discriminator_loss(*output(models).chunk(2))  # expert and agent halves of one pass
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                return 20

            return run

        report(f"{title}: steps/s", "steps/s", interleaved({"float32": candidate(nets["float32"]), "bfloat16 autocast": candidate(nets["bfloat16"])}, repeats))
        with torch.no_grad():
            fp32, bf16 = output(nets["float32"]), output(nets["bfloat16"])
        print(f"  largest |r_bf16 - r_fp32| (same weights): {(bf16 - fp32).abs().max():.4f}, |r| up to {fp32.abs().max():.3f}")


def bench_airl_iteration(repeats: int) -> dict[str, float]:
    """AIRL's iteration on Hopper-v5 at configs/airl/hopper.yaml's sizes (SAC (256, 256), batch 100; g and h 2 x 256
    ReLU in bf16; 5 discriminator steps of 256 + 256 per 50 SAC updates), over the plain SAC updates inside it:
    the reference relabels each batch of 100 on its own (f(s, s') and log pi(a|s) in a separate actor pass) and
    each discriminator step computes its own log pi; ours relabels f in passes of ``RELABEL_ROWS`` rows, takes log
    pi from the SAC update's own actor pass (:meth:`OffPolicyLearner.update_policy`) and the discriminator steps'
    log pi from one actor pass (:meth:`AIRL.with_policy_terms`). Rates are SAC updates/s (an iteration's 50 count 50)."""
    from lit_irl.algos.off_policy import RELABEL_ROWS
    from lit_irl.rewards import RewardConfig, RewardModel
    from lit_irl.rewards.adversarial import airl_shaped, discriminator_loss

    obs_dim, act_dim, batch_size, updates = 11, 3, 100, 50
    torch.manual_seed(0)
    policy = SACPolicy(obs_dim, act_dim, -torch.ones(act_dim), torch.ones(act_dim), SACConfig(batch_size=batch_size, learn_alpha=False))
    optimizers = policy.make_optimizers()
    config = RewardConfig(inputs="s", hidden=[256, 256], activation="relu", clamp=None, compute_dtype="bfloat16")
    g, h = RewardModel(obs_dim, act_dim, config), RewardModel(obs_dim, act_dim, config)
    disc_optimizer = torch.optim.Adam([*g.parameters(), *h.parameters()], lr=1e-4, betas=(0.0, 0.999))

    def transitions(n: int) -> TensorDict:
        return TensorDict({"obs": torch.randn(n, obs_dim), "action": torch.rand(n, act_dim) * 1.8 - 0.9, "next_obs": torch.randn(n, obs_dim),
                           "terminated": torch.rand(n) < 0.01}, batch_size=[n])  # fmt: skip

    replay, disc_rows = transitions(RELABEL_ROWS * 4), transitions(5 * 512)

    def shaped(batch: TensorDict) -> torch.Tensor:
        states = TensorDict({"obs": torch.cat([batch["obs"], batch["next_obs"]])}, batch_size=[2 * batch.shape[0]])
        h_obs, h_next = h(states).split(batch.shape[0])
        return airl_shaped(g(batch), h_obs, h_next, batch["terminated"], 0.99)

    def discriminator_steps(one_actor_pass: bool) -> None:
        with torch.no_grad():
            log_pis = policy.actor.log_prob(disc_rows["obs"], disc_rows["action"]).split(512) if one_actor_pass else [None] * 5
        for rows, log_pi in zip(disc_rows.split(512), log_pis, strict=True):
            if log_pi is None:
                with torch.no_grad():
                    log_pi = policy.actor.log_prob(rows["obs"], rows["action"])
            loss, _ = discriminator_loss(*(shaped(rows) - log_pi).chunk(2))
            disc_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            disc_optimizer.step()

    def draw(n: int) -> TensorDict:
        return replay[torch.randint(0, replay.shape[0], (n,))]

    def plain_sac() -> int:
        for _ in range(updates):
            policy.update(draw(batch_size), torch.zeros(batch_size), optimizers)
        return updates

    def per_batch() -> int:
        discriminator_steps(one_actor_pass=False)
        for _ in range(updates):
            batch = draw(batch_size)
            with torch.no_grad():
                reward = shaped(batch) - policy.actor.log_prob(batch["obs"], batch["action"])
            policy.update(batch, reward, optimizers)
        return updates

    def ours() -> int:
        discriminator_steps(one_actor_pass=True)
        per_pass = RELABEL_ROWS // batch_size
        for first in range(0, updates, per_pass):
            batches = draw(min(per_pass, updates - first) * batch_size)
            with torch.no_grad():
                rewards = shaped(batches)
            for batch, reward in zip(batches.split(batch_size), rewards.split(batch_size), strict=True):
                policy.update(batch, lambda log_pi, reward=reward: reward - log_pi, optimizers)
        return updates

    return interleaved({"the SAC updates alone (reference)": plain_sac, "AIRL, each batch relabelled on its own": per_batch,
                        "AIRL, lit_irl: f in passes, log pi from shared actor passes": ours}, repeats)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = as in a collector process)")
    parser.add_argument("--only", choices=["sac", "sac_loop", "iq_learn", "ppo", "bc", "world_model", "sequence", "reward_dtype", "airl"],
                        help="one learner's measurements only (sac_loop: the whole SAC training loop against SB3 alone)")
    parser.add_argument("--widths", type=int, nargs="+", default=[256, 64],
                        help="width(s) of the two hidden layers of the SAC actor and critics measured (default: 256 64)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    repeats = 3 if args.quick else 7
    print(f"lit_irl throughput on {args.env}, torch {torch.__version__}, {args.threads} thread(s); median of {repeats} interleaved repeats")

    def report_training_loop(hidden: list[int]) -> None:
        rates = bench_training_loop(args.env, hidden, 1000 if args.quick else 3000, 1 if args.quick else 3)
        report(f"whole SAC training loop, nets {hidden}, UTD 1: env-steps/s", "steps/s", rates)

    if args.only == "sac_loop":
        for width in args.widths:
            report_training_loop([width, width])
        return
    if args.only in (None, "airl"):
        rates = bench_airl_iteration(repeats)
        report("AIRL iteration (5 discriminator steps + 50 relabelled SAC updates, batch 100): SAC updates/s; 1 / ratio = iteration / SAC",
               "upd/s", rates)
    if args.only == "airl":
        return
    if args.only in (None, "reward_dtype"):
        bench_reward_dtype(repeats)
    if args.only == "reward_dtype":
        return
    if args.only in (None, "iq_learn"):
        report("IQ-Learn update, (256, 256), 256 expert + 256 agent rows: updates/s", "upd/s", bench_iq_learn_updates(args.env, 30 if args.quick else 100, repeats))
    if args.only == "iq_learn":
        return
    if args.only in (None, "sequence"):
        rates = bench_sequence(5 if args.quick else 60, repeats)  # 60 PPO iterations: Trainer start-up is ~3% of a run, as in real runs
        report("sequence-level PPO on the tiny transformer (batch 64, H 12, 4 epochs): response tokens sampled/s", "tok/s", rates["ppo"])
        report("sequence-level IRL (20 RLOO steps x 256 responses + 5 reward steps per round): response tokens/s", "tok/s", rates["irl"])
    if args.only == "sequence":
        return
    if args.only in (None, "world_model"):
        report("world-model ensemble training, 7 x (4 x 200) SiLU, batch 256 per member: member gradient steps/s", "steps/s",
               bench_world_model_training(args.env, 10 if args.quick else 30, repeats))
        report("model rollouts, 7 members, 10,000 rows: transitions/s", "trans/s", bench_model_rollouts(args.env, 5 if args.quick else 10, repeats))
    if args.only == "world_model":
        return
    if args.only in (None, "bc"):
        report("BC, tanh-Gaussian (256, 256), batch 256: gradient steps/s", "steps/s", bench_bc(args.env, 500 if args.quick else 2000, repeats))
    if args.only == "bc":
        return
    if args.only != "sac":
        report("GAE over a 2048 x 1 batch: batches/s", "batch/s", bench_gae(repeats))
        report("PPO minibatch updates, (64, 64) tanh, minibatch 64: updates/s", "upd/s", bench_ppo_updates(args.env, repeats))
        rates = bench_ppo(args.env, 1 if args.quick else 2, 2 if args.quick else 3)
        report(f"whole PPO training, (64, 64) tanh, {PPO_STEPS} steps x 10 epochs x minibatch 64: env-steps/s", "steps/s", rates)
    if args.only == "ppo":
        return
    for hidden in ([width, width] for width in args.widths):
        rates = bench_collection(args.env, hidden, 1000 if args.quick else 2000, repeats)
        report(f"collection, actor {hidden}: env-steps/s", "steps/s", rates)
        rates = bench_updates(args.env, hidden, 50 if args.quick else 200, repeats)
        report(f"SAC update, actor/critics {hidden}, batch 256: updates/s", "upd/s", rates)
        report_training_loop(hidden)


if __name__ == "__main__":
    main()
