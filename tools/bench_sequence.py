"""Sequence-level alignment on the synthetic language (issue: IRL from demonstrations, SFT, RLHF, DPO, SPIN,
AIHF on a tiny transformer), through the results layer. Suites:

    python tools/bench_sequence.py --suites headline --seeds 0 1 2    # IRL vs SFT (and SPIN) across demonstration counts
    python tools/bench_sequence.py --suites headline --demos 1000 --methods sft irl --seeds 3 4   # the headline pair, 5 seeds
    python tools/bench_sequence.py --suites preferences --seeds 0 1 2 # AIHF vs RLHF vs DPO (+ AIHF-DPO, self-play) with scarce preferences
    python tools/bench_sequence.py --suites horizon --seeds 0 1 2     # SFT vs IRL at H in {4, 8, 16, 32}, N = 1000
    python tools/bench_sequence.py --suites oracle --seeds 0 1 2      # PPO on the gold reward at the expert's temperature
    python tools/bench_sequence.py --report-only --pair-seeds 0 1 2 3 4   # -> results/sequence.{md,json,png}
    python tools/bench_sequence.py --carry                            # pack the runs for the next session

One base model is pretrained per seed and horizon (``configs/sequence/pretrain.yaml``); SFT starts from it and
stops on 10% held-out demonstrations; IRL (preset ``irl_exact``), SPIN and every preference learner start from
that seed's SFT. Preferences: ``--pairs`` Bradley-Terry-labelled pairs of SFT responses, with N = 1000
demonstrations for the learners that also read demonstrations. RLHF is a Bradley-Terry reward model
(``configs/sequence/reward_model.yaml``) then token-level PPO on it (``ppo.yaml``). Oracles: the expert itself;
PPO on the gold reward from the pretrained base at the expert's temperature (its optimum is the expert, up to
the base model's error); tabular ML-IRL (the maximum-likelihood reward within the gold reward's class with the
exact soft-optimal policy, computed here in seconds, :mod:`lit_irl.sequence.oracles`). Every number is the final
evaluation on 1000 held-out prompts (a Monte-Carlo mean; its standard error is in the run's events), mean ± std
over seeds. The seeds' LLM numbers (TL;DR win rate 24% -> 33% for IRL over SFT; RewardBench IRL 68-71 vs SPIN
39-49) are directions to compare with, not targets.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import numpy as np
import torch

from lit_irl.benchmark import RESULTS, ROOT, BenchmarkRun, train_runs
from lit_irl.data.collect import derive_seed
from lit_irl.files import write_text_atomic
from lit_irl.reporting import markdown_table

CONFIGS = ROOT / "configs" / "sequence"
METRICS = ("gold_reward", "kl_expert_to_policy", "kl_policy_to_expert", "win_rate_vs_expert", "reward_pair_accuracy")
HORIZON, PROMPT, PREFERENCE_DEMOS = 12, 4, 1000
SUITES = ("headline", "preferences", "horizon", "oracle")


@dataclass(frozen=True)
class Spec:
    """One run: a method at a seed, demonstration count, preference-pair count and horizon."""

    method: str
    seed: int
    demos: int | None = None
    pairs: int | None = None
    horizon: int = HORIZON

    @property
    def world_overrides(self) -> list[str]:
        if self.horizon == HORIZON:
            return []
        return ["--model.init_args.world.horizon", str(self.horizon), "--model.init_args.model.context", str(PROMPT + self.horizon)]

    @property
    def suffix(self) -> str:
        return "" if self.horizon == HORIZON else f"_h{self.horizon}"

    def start(self) -> "Spec":
        """The run this one starts from (its ``init_from``)."""
        if self.method in ("sft", "oracle_ppo"):
            return Spec("pretrain", self.seed, horizon=self.horizon)
        return Spec("sft", self.seed, self.demos if self.pairs is None else PREFERENCE_DEMOS, horizon=self.horizon)

    def run(self) -> BenchmarkRun:
        seeded = [*self.world_overrides, "--model.init_args.training.seed", str(self.seed)]
        if self.method == "pretrain":
            return BenchmarkRun(f"sequence_pretrain{self.suffix}/seed{self.seed}", [CONFIGS / "pretrain.yaml"], seeded)
        overrides = [*seeded, "--model.init_args.init_from", str(self.start().run().latest_checkpoint)]
        if self.method == "oracle_ppo":
            return BenchmarkRun(f"sequence_oracle_ppo{self.suffix}/seed{self.seed}", [CONFIGS / "ppo.yaml"],
                                [*overrides, "--model.init_args.reward_from", "gold", "--model.init_args.beta", str(expert_temperature(self.horizon))])  # fmt: skip
        if self.pairs is None:
            config = {"sft": "sft", "irl": "irl", "spin": "spin"}[self.method]
            return BenchmarkRun(f"sequence_{self.method}_n{self.demos}{self.suffix}/seed{self.seed}", [CONFIGS / f"{config}.yaml"],
                                [*overrides, "--model.init_args.num_demonstrations", str(self.demos)])  # fmt: skip
        name = f"sequence_{self.method}_p{self.pairs}{self.suffix}/seed{self.seed}"
        pairs = ["--model.init_args.num_pairs", str(self.pairs)]
        demos = ["--model.init_args.num_demonstrations", str(PREFERENCE_DEMOS)]
        if self.method == "reward_model":
            return BenchmarkRun(name, [CONFIGS / "reward_model.yaml"], [*overrides, *pairs])
        if self.method == "rlhf":
            reward = Spec("reward_model", self.seed, pairs=self.pairs, horizon=self.horizon).run().latest_checkpoint
            return BenchmarkRun(name, [CONFIGS / "ppo.yaml"], [*overrides, "--model.init_args.reward_from", str(reward)])
        if self.method == "dpo":
            return BenchmarkRun(name, [CONFIGS / "dpo.yaml"], [*overrides, *pairs])
        if self.method == "aihf_w0":
            return BenchmarkRun(name, [CONFIGS / "aihf.yaml"], [*overrides, *pairs, *demos, "--model.init_args.w1", "0"])
        config = {"aihf": "aihf", "aihf_dpo": "aihf_dpo", "self_play_aihf": "self_play_aihf"}[self.method]
        return BenchmarkRun(name, [CONFIGS / f"{config}.yaml"], [*overrides, *pairs, *demos])


def expert_temperature(horizon: int) -> float:
    from lit_irl.sequence import SyntheticWorld, WorldConfig

    return SyntheticWorld(WorldConfig(horizon=horizon)).beta


def stages(suites: list[str], seeds: list[int], demos: list[int], pairs: list[int], horizons: list[int], methods: list[str]) -> list[list[Spec]]:
    """The runs of ``suites`` and the runs they start from, in dependency order (base models; SFT and the gold
    oracle; the learners that start from SFT; RLHF's PPO after its reward model)."""
    wanted: list[Spec] = []
    if "headline" in suites:
        wanted += [Spec(m, s, n) for m in methods for n in demos for s in seeds]
    if "preferences" in suites:
        wanted += [Spec(m, s, pairs=p) for m in ("rlhf", "dpo", "aihf", "aihf_w0", "aihf_dpo", "self_play_aihf") for p in pairs for s in seeds]
    if "horizon" in suites:
        wanted += [Spec(m, s, PREFERENCE_DEMOS, horizon=h) for m in ("sft", "irl") for h in horizons for s in seeds]
    if "oracle" in suites:
        wanted += [Spec("oracle_ppo", s) for s in seeds]
    needed: set[Spec] = set()
    for spec in wanted:
        while spec not in needed:
            needed.add(spec)
            if spec.method == "rlhf":
                needed.add(Spec("reward_model", spec.seed, pairs=spec.pairs, horizon=spec.horizon))
            if spec.method == "pretrain":
                break
            spec = spec.start()
    depth = {"pretrain": 0, "sft": 1, "oracle_ppo": 1, "rlhf": 3}
    return [sorted((s for s in needed if depth.get(s.method, 2) == d), key=repr) for d in range(4)]


# ------------------------------------------------------------------ carrying runs across sessions
def done(run: BenchmarkRun) -> bool:
    """Whether ``run`` needs no more training: a finished marker carried from an earlier session, its budget
    reached, or stopped early on held-out data (SFT, the reward model)."""
    if (run.carried / "finished").exists() and not run.last_checkpoint.exists():
        return True  # its slim checkpoint may lack what a resume needs: it is not resumed
    if not run.last_checkpoint.exists():
        return False
    import yaml

    state = torch.load(run.last_checkpoint, map_location="cpu", weights_only=False)
    # Runs of before save_hyperparameters in SequenceLearner: their config's values (the bench overrides neither key).
    hparams = state.get("hyper_parameters") or yaml.safe_load(run.configs[0].read_text())["model"]["init_args"]
    training = hparams["training"]
    total = training.total_steps if hasattr(training, "total_steps") else training["total_steps"]
    if int(state["state_dict"][state["lit_irl"]["progress_unit"]]) >= int(total):
        return True
    best = (state.get("collection") or [{}])[0].get("best")
    return best is not None and best["bad_checks"] >= hparams.get("patience", float("inf"))


def carry(run: BenchmarkRun) -> None:
    """Pack ``run`` for the next session: a done run as its events, a ``finished`` marker and a slim
    checkpoint (its progress, and the weights later runs start from if they do: base models, SFT, reward
    models; a few hundred kB); an unfinished one as its whole ``last.ckpt`` (the run state is small here
    and exact resume needs it)."""
    import shutil

    from lit_irl.checkpoint_io import AtomicCheckpointIO, load_checkpoint_file

    if not run.last_checkpoint.exists():
        return
    run.carried.mkdir(parents=True, exist_ok=True)
    for events in (run.folder / "run").glob("events.out.tfevents.*"):
        shutil.copy2(events, run.carried / events.name)
    state = load_checkpoint_file(run.last_checkpoint)
    if done(run):
        unit = state["lit_irl"]["progress_unit"]
        starts_others = run.name.startswith(("sequence_pretrain", "sequence_sft_", "sequence_reward_model_"))  # init_from / reward_from of later runs
        keep = {k: v for k, v in state["state_dict"].items() if (starts_others and k.startswith(("policy.", "reward."))) or k == unit}
        slim = {"state_dict": keep, "lit_irl": state["lit_irl"]}
        if "hyper_parameters" in state:
            slim["hyper_parameters"] = state["hyper_parameters"]
        AtomicCheckpointIO().save_checkpoint(slim, run.carried / "last.ckpt")
        (run.carried / "finished").write_text(f"{int(state['state_dict'][unit])} {unit}\n")
    else:
        (run.carried / "finished").unlink(missing_ok=True)
        AtomicCheckpointIO().save_checkpoint(state, run.carried / "last.ckpt")
    print(f"{run.carried}: {'done' if done(run) else 'to continue'}")


# ------------------------------------------------------------------ report
def final(spec: Spec, metric: str) -> float | None:
    points = spec.run().scalars(f"eval/{metric}")
    return points[-1][1] if points else None


def cells(specs: list[Spec], metrics: tuple[str, ...] = METRICS) -> tuple[list[str], dict]:
    """The row of ``specs`` (one per seed): seeds evaluated, then mean ± std of each metric; and its data
    (per-seed values, ``seeds`` and ``env_steps``, the longest run's gradient steps, as the results page reads them)."""
    values = {m: [v for spec in specs if (v := final(spec, m)) is not None] for m in metrics}
    done = len(values["gold_reward"])
    steps = [points[-1][0] for spec in specs if (points := spec.run().scalars("eval/gold_reward"))]
    row = [str(done), *(f"{np.mean(v):.3f} ± {np.std(v):.3f}" if v else "-" for v in values.values())]
    return row, {**values, "seeds": done, "env_steps": max(steps, default=0)}


def tabular_oracle(seeds: list[int], n: int, horizon: int = HORIZON) -> dict[str, list[float]]:
    """Tabular ML-IRL on each seed's SFT demonstrations (the same draws), evaluated as the runs are."""
    from lit_irl.sequence import SyntheticWorld, WorldConfig
    from lit_irl.sequence.demonstrations import expert_demonstrations
    from lit_irl.sequence.learners import policy_report
    from lit_irl.sequence.oracles import tabular_ml_irl

    world = SyntheticWorld(WorldConfig(horizon=horizon))
    out: dict[str, list[float]] = {m: [] for m in METRICS[:4]}
    for seed in seeds:
        prompts, responses = expert_demonstrations(world, n, seed)
        fitted = tabular_ml_irl(world, prompts, responses)
        eval_prompts = world.sample_prompts(1000, torch.Generator().manual_seed(derive_seed(seed, 99)))
        generator = torch.Generator().manual_seed(derive_seed(seed, 98))
        report = policy_report(world, eval_prompts, lambda p: fitted.sample_responses(p, generator), fitted.log_prob, generator)
        for m in out:
            out[m].append(report[m])
    return out


def report(seeds: list[int], demos: list[int], pairs: list[int], horizons: list[int], methods: list[str], oracle: bool,
           pair_seeds: list[int] | None = None) -> None:  # fmt: skip
    """Write results/sequence.{md,json,png}; ``pair_seeds``: the seeds of the SFT and IRL rows of the headline (5 for the pair)."""
    pair_seeds = pair_seeds or seeds
    table: dict[str, dict] = {}
    header = ["method", "seeds", "gold reward", "KL(pi_E || pi)", "KL(pi || pi_E)", "win rate vs expert", "reward pair accuracy"]
    expert = [v for s in seeds if (v := final(Spec("pretrain", s), "expert_gold_reward")) is not None]
    lines = ["# Sequence-level alignment on the synthetic language", "",
             "Command: `python " + " ".join(["tools/bench_sequence.py", *sys.argv[1:]]) + "`", "",
             "Final evaluation of each run on 1000 held-out prompts (V = 16, prompt 4, H = 12, KL(pi_E || pi_0) = 3 nats); mean ± std over "
             "seeds. Gold reward of the expert's responses: " + (f"{np.mean(expert):.3f}" if expert else "-") + "; the expert's win rate "
             "against itself is 0.5. Reward pair accuracy: the learned (or implicit) reward on held-out pairs of the start policy's "
             "responses, labelled by the gold reward.", ""]  # fmt: skip

    def section(title: str, rows_spec: list[tuple[str, list[Spec]]], extra: list[tuple[str, dict[str, list[float]]]] = ()) -> None:
        rows = []
        for name, specs in rows_spec:
            row, values = cells(specs)
            table[f"{title}: {name}"] = values
            rows.append([name, *row])
        for name, values in extra:
            table[f"{title}: {name}"] = {**values, "seeds": len(values["gold_reward"]), "env_steps": 0}
            rows.append([name, str(len(values["gold_reward"])), *(f"{np.mean(values[m]):.3f} ± {np.std(values[m]):.3f}" for m in METRICS[:4]), "-"])
        lines.extend([f"## {title}", "", *markdown_table(header, rows), ""])

    headline = [(f"{m.upper() if m != 'irl' else 'IRL (irl_exact)'}, N = {n}", [Spec(m, s, n) for s in (pair_seeds if m in ("sft", "irl") else seeds)])
                for n in demos for m in methods]  # fmt: skip
    extra = [(f"tabular ML-IRL (oracle), N = {n}", tabular_oracle(seeds, n)) for n in demos] if oracle else []
    base = [("pretrained base (pi_ref)", [Spec("pretrain", s) for s in seeds]), ("PPO on the gold reward, beta_E (oracle)", [Spec("oracle_ppo", s) for s in seeds])]
    section("IRL vs SFT across demonstration counts", base + headline, extra)
    def paired(settings: list[tuple[str, dict]], run_seeds: list[int]) -> None:
        """IRL minus SFT within each seed (each IRL run starts from its seed's SFT run)."""
        rows = []
        for label, setting in settings:
            for metric in ("win_rate_vs_expert", "gold_reward", "kl_expert_to_policy"):
                both = [(i, f) for s in run_seeds
                        if (i := final(Spec("irl", s, **setting), metric)) is not None and (f := final(Spec("sft", s, **setting), metric)) is not None]
                if both:
                    differences = [i - f for i, f in both]
                    rows.append([label, metric, str(len(both)), f"{np.mean(differences):+.3f} ± {np.std(differences):.3f}",
                                 f"{sum(d > 0 for d in differences)} / {len(differences)}"])  # fmt: skip
        if rows:
            lines.extend(["Paired by seed (IRL starts from its seed's SFT): IRL minus SFT.", "",
                          *markdown_table(["setting", "metric", "seeds", "IRL - SFT (mean ± std)", "seeds with IRL > SFT"], rows), ""])

    paired([(f"N = {n}", {"demos": n}) for n in demos], pair_seeds)
    preference = [(f"{label}, {p} pairs", [Spec(m, s, pairs=p) for s in seeds]) for p in pairs for m, label in
                  (("reward_model", "BT reward model (RLHF stage 1)"), ("rlhf", "RLHF: PPO on the BT reward model"), ("dpo", "DPO"),
                   ("aihf", "AIHF (N = 1000 demonstrations + pairs)"), ("aihf_w0", "AIHF w1 = 0 (pairs only, alternating)"),
                   ("aihf_dpo", "AIHF-DPO (N = 1000 + pairs)"), ("self_play_aihf", "self-play AIHF (N = 1000 + pairs)"))]  # fmt: skip
    section("Demonstrations and scarce preferences", [("SFT, N = 1000 (the start)", [Spec("sft", s, PREFERENCE_DEMOS) for s in seeds])] + preference)
    section("Horizon sweep, N = 1000", [(f"{m.upper()}, H = {h}", [Spec(m, s, PREFERENCE_DEMOS, horizon=h) for s in seeds]) for h in horizons for m in ("sft", "irl")])
    paired([(f"H = {h}", {"demos": PREFERENCE_DEMOS, "horizon": h}) for h in horizons], seeds)
    RESULTS.mkdir(exist_ok=True)
    write_text_atomic(RESULTS / "sequence.md", "\n".join(lines) + "\n")
    write_text_atomic(RESULTS / "sequence.json", json.dumps(table, indent=1))
    plot(table, demos, methods, oracle)
    print("\n".join(lines))


def plot(table: dict, demos: list[int], methods: list[str], oracle: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    names = [(m, f"{m.upper() if m != 'irl' else 'IRL (irl_exact)'}, N = {{n}}") for m in methods] + ([("tabular", "tabular ML-IRL (oracle), N = {n}")] if oracle else [])
    for axis, metric, label in zip(axes, ("win_rate_vs_expert", "kl_expert_to_policy"), ("win rate vs expert", "KL(pi_E || pi)")):
        for method, pattern in names:
            points = [(n, table.get(f"IRL vs SFT across demonstration counts: {pattern.format(n=n)}", {}).get(metric, [])) for n in demos]
            points = [(n, np.mean(v), np.std(v)) for n, v in points if v]
            if points:
                x, y, e = map(np.array, zip(*points))
                axis.errorbar(x, y, yerr=e, marker="o", capsize=3, label=method)
        axis.set_xscale("log")
        axis.set_xlabel("demonstrations N")
        axis.set_ylabel(label)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(RESULTS / "sequence.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=SUITES)
    parser.add_argument("--methods", nargs="+", default=["sft", "irl", "spin"], choices=["sft", "irl", "spin"], help="of the headline suite")
    parser.add_argument("--demos", nargs="+", type=int, default=[100, 300, 1000, 3000])
    parser.add_argument("--pairs", nargs="+", type=int, default=[100])
    parser.add_argument("--horizons", nargs="+", type=int, default=[4, 8, 16, 32])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--pair-seeds", nargs="+", type=int, help="report: the seeds of the headline's SFT and IRL rows (default: --seeds)")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--no-oracle", action="store_true", help="report without the tabular ML-IRL rows (they take seconds each)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--carry", action="store_true", help="do not train: pack the runs for the next session into results/carry/")
    args = parser.parse_args()
    plan = stages(args.suites, args.seeds, args.demos, args.pairs, args.horizons, args.methods)
    if args.carry:
        for spec in (spec for stage in plan for spec in stage):
            carry(spec.run())
        return
    if not args.report_only:
        for stage in plan:  # each stage starts from the previous one's checkpoints
            train_runs([run for run in (spec.run() for spec in stage) if not done(run)], None, args.parallel)
    report(args.seeds, args.demos, args.pairs, args.horizons, args.methods, not args.no_oracle, args.pair_seeds)


if __name__ == "__main__":
    main()
