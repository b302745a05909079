"""What does bf16-mixed do to a trained SAC critic and its gradients? Measured on a run's own replay.

    python tools/check_precision.py results/runs/<run>/seed0/run/checkpoints/last.ckpt

For a checkpoint of any learner with a SAC policy step (SAC, ML-IRL, the online baselines) and its
replay buffer (a full ``last.ckpt``, or one carried with ``--replay-rows``), on replay rows:

- Q(s, a) of both critics in float32 and under ``torch.autocast(bfloat16)`` (the output layers stay
  float32, as in training): mean and largest absolute difference;
- the critic's and the actor's gradient on minibatches of ``--batch`` rows, bf16 against float32:
  cosine and norm ratio, beside the cosine of two float32 gradients that differ only in the sampled
  actions (the noise SAC has anyway). A bf16 cosine well below that reference means bf16 changes
  the step more than the sampling does.

The reward in the critic's target is a constant (``--reward``): the check is about the critic's own
arithmetic, not about a learned reward.
"""

from __future__ import annotations

import argparse

import torch
from tensordict import TensorDict

from lit_irl.checkpoint_io import load_checkpoint_file
from lit_irl.data.rollout import config_from_hparams
from lit_irl.policy import SACConfig
from lit_irl.policy.sac import SACPolicy


def load_policy_and_replay(path: str) -> tuple[SACPolicy, TensorDict]:
    state = load_checkpoint_file(path)
    meta, hparams = state.get("lit_irl", {}), state.get("hyper_parameters", {})
    if "sac" not in hparams or not any(key.startswith("policy.") for key in state["state_dict"]):
        raise SystemExit(f"{path}: no SAC policy in this checkpoint (written by {meta.get('algo')}); pass a checkpoint of a learner with a SAC step")
    replays = [rank["replay"]["data"] for rank in state.get("collection") or [] if isinstance(rank, dict) and "replay" in rank]
    if not replays or replays[0] is None or len(replays[0]) == 0:
        raise SystemExit(f"{path}: no replay buffer in this checkpoint; pass a run's last.ckpt (or one carried with --replay-rows > 0)")
    actor_args = meta["actor"]["init_args"]
    policy = SACPolicy(meta["obs_dim"], meta["act_dim"], torch.tensor(actor_args["action_low"]), torch.tensor(actor_args["action_high"]),
                       config_from_hparams(SACConfig, hparams["sac"]))
    policy.load_state_dict({key[len("policy."):]: value for key, value in state["state_dict"].items() if key.startswith("policy.")})
    return policy, replays[0]


def gradients(policy: SACPolicy, batch: TensorDict, reward: torch.Tensor, bf16: bool, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened critic and actor gradients of one SAC update's two losses (actions sampled with ``seed``)."""
    flat = []
    for loss_of, module in ((lambda: policy.critic_loss(batch, reward)[0], policy.critic), (lambda: policy.actor_loss(batch["obs"])[0], policy.actor)):
        policy.zero_grad(set_to_none=True)
        torch.manual_seed(seed)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of()
        loss.backward()
        flat.append(torch.cat([p.grad.flatten() for p in module.parameters()]))
    return flat[0], flat[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--rows", type=int, default=8192, help="replay rows for the Q comparison")
    parser.add_argument("--batch", type=int, default=256, help="minibatch size of the gradient comparison (SAC's)")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--reward", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    policy, replay = load_policy_and_replay(args.checkpoint)
    generator = torch.Generator().manual_seed(args.seed)
    n = replay.shape[0]

    index = torch.randint(0, n, (min(args.rows, n),), generator=generator)
    x = torch.cat([replay["obs"][index].float(), replay["action"][index].float()], -1)
    with torch.no_grad():
        q32 = policy.critic(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            q16 = policy.critic(x).float()
    diff = (q16 - q32).abs()
    print(f"{n:,} replay rows; Q(s, a) over {x.shape[0]:,} of them: mean {q32.mean():.2f}, the twin critics differ by {(q32[0] - q32[1]).abs().mean():.3f} on average")
    print(f"bf16 vs float32 Q: mean |diff| {diff.mean():.4f} ({(diff / q32.abs().clamp_min(1)).mean():.2%} of |Q|), largest {diff.max():.3f}")

    cosine = torch.nn.functional.cosine_similarity
    print(f"\ngradients on {args.batches} minibatches of {args.batch}: cosine to float32 (reference: float32 with other sampled actions), norm ratio")
    print("| minibatch | critic cos bf16 | critic cos reference | critic norm ratio | actor cos bf16 | actor cos reference | actor norm ratio |")
    print("|---|---|---|---|---|---|---|")
    for k in range(args.batches):
        index = torch.randint(0, n, (args.batch,), generator=generator)
        batch = TensorDict({key: replay[key][index] for key in ("obs", "action", "next_obs")}, batch_size=[args.batch])
        batch["terminated"] = replay["terminated"][index].reshape(args.batch).bool()
        reward = torch.full((args.batch,), args.reward)
        critic32, actor32 = gradients(policy, batch, reward, False, 2 * k)
        critic16, actor16 = gradients(policy, batch, reward, True, 2 * k)
        critic_ref, actor_ref = gradients(policy, batch, reward, False, 2 * k + 1)
        print(f"| {k} | {cosine(critic32, critic16, 0):.4f} | {cosine(critic32, critic_ref, 0):.4f} | {critic16.norm() / critic32.norm():.3f} "
              f"| {cosine(actor32, actor16, 0):.4f} | {cosine(actor32, actor_ref, 0):.4f} | {actor16.norm() / actor32.norm():.3f} |")


if __name__ == "__main__":
    main()
