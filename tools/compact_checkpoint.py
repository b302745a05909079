"""Strip the bulk of the collection state from a training checkpoint, to carry a run across machines.

    python tools/compact_checkpoint.py runs/sac-Hopper-v5/version_0/checkpoints/last.ckpt results/carry/Hopper-v5.ckpt
    python tools/compact_checkpoint.py last.ckpt carried.ckpt --replay-rows 50000

Without ``--replay-rows`` the result holds networks, optimizers and counters (a few MB instead of
hundreds) and still resumes with ``lit-irl fit --config X --ckpt_path <it>``: the replay buffer then
refills with the current policy for ``warmup_steps`` before updates continue. With it, the env, RNG
and episode states stay and each replay buffer keeps its N most recent transitions (about 100 bytes
each on Hopper), which a resumed SAC run needs to continue steadily. Neither is bit-identical.
"""

from __future__ import annotations

import argparse

from lit_irl.checkpoint_io import compact_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--replay-rows", type=int, default=0, help="most recent transitions to keep per replay buffer (0: no collection state)")
    args = parser.parse_args()
    steps = compact_checkpoint(args.source, args.target, args.replay_rows)
    kept = f"the {args.replay_rows:,} most recent transitions of each replay buffer kept" if args.replay_rows else "collection state removed"
    print(f"{args.target}: progress {steps:,}, {kept}")


if __name__ == "__main__":
    main()
