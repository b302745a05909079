"""Strip the collection state (replay buffer, env and RNG states) from a training checkpoint.

    python tools/compact_checkpoint.py runs/sac-Hopper-v5/version_0/checkpoints/last.ckpt results/carry/Hopper-v5.ckpt

The result (networks, optimizers, counters: a few MB instead of hundreds) still resumes with
``lit-irl fit --config X --ckpt_path <it>``: the replay buffer then refills with the current policy
for ``warmup_steps`` before updates continue. Not bit-identical; meant for carrying long runs
(expert training) across machines or sessions where the full checkpoint cannot travel.
"""

from __future__ import annotations

import sys

from lit_irl.checkpoint_io import compact_checkpoint


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    steps = compact_checkpoint(sys.argv[1], sys.argv[2])
    print(f"{sys.argv[2]}: env steps {steps:,}, collection state removed")


if __name__ == "__main__":
    main()
