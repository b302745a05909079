"""Benchmark runs continue across machine sessions (tools/bench_*.py): train, carry, continue, summarize."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lit_irl import benchmark
from lit_irl.benchmark import BenchmarkRun
from lit_irl.reporting import SUMMARY_HEADER, eval_summary, summary_cells
from lit_irl.errors import LitIRLError
from tests.conftest import PENDULUM, tiny_args


def test_benchmark_run_is_carried_to_a_new_machine_and_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path / "results")
    overrides = tiny_args(PENDULUM, tmp_path, total=400, warmup=100, log_every=100)[2:]  # its own --config below
    run = BenchmarkRun("inverted_pendulum/seed0", [Path(PENDULUM)], overrides)
    assert not run.finished()

    assert run.train() == 0, (run.folder / "train.log").read_text()[-3000:]
    assert run.finished() and run.last_checkpoint.exists()
    first = run.scalars("eval/return_mean")
    assert [step for step, _ in first] == [200, 400]

    run.carry()
    shutil.rmtree(run.folder)  # a new machine: only the committed carry is there
    assert run.latest_checkpoint == run.carried / "last.ckpt" and run.finished()
    assert run.scalars("eval/return_mean") == first, "a report is made again from the carried events alone"

    assert run.train(total_steps=800) == 0, (run.folder / "train.log").read_text()[-3000:]
    assert not (run.carried / "last.ckpt").samefile(run.latest_checkpoint), "the continued run writes its own checkpoint"
    evals = run.scalars("eval/return_mean")
    assert [step for step, _ in evals] == [200, 400, 600, 800], "the carried curve is continued, not restarted"
    assert evals[:2] == first
    assert run.train() == 0 and run.scalars("eval/return_mean") == evals, "re-running a finished run adds nothing"

    unstarted = BenchmarkRun("inverted_pendulum/seed1", [Path(PENDULUM)])
    summary = eval_summary([run, unstarted], reference=1000.0)
    assert summary["seeds"] == 1 and summary["env_steps"] == summary["env_steps_max"] == 800
    assert summary["final_mean"] == pytest.approx(evals[-1][1]) and summary["best_mean"] == pytest.approx(max(v for _, v in evals))
    assert summary["ratio"] == pytest.approx(evals[-1][1] / 1000.0)
    assert summary["wall_time_h"] > 0
    assert len(summary_cells(summary)) == len(SUMMARY_HEADER)
    assert eval_summary([run], reference=-150.0)["ratio"] is None, "no share of a negative reference"


def test_benchmark_run_refuses_a_missing_config(tmp_path: Path):
    with pytest.raises(LitIRLError, match="no config"):
        BenchmarkRun("x/seed0", [tmp_path / "nope.yaml"])


@pytest.mark.parametrize("first_step", [5000, 230000])
def test_training_seconds_counts_logged_periods_only(tmp_path: Path, first_step: int):
    from torch.utils.tensorboard import SummaryWriter

    from lit_irl.reporting import training_seconds

    writer = SummaryWriter(str(tmp_path))
    for k in range(4):  # 4 periods of 5000 env steps at 100 env steps/s, whether the folder starts at 0 or mid-run
        writer.add_scalar("perf/env_steps_per_s", 100.0, first_step + 5000 * k)
    writer.close()
    assert training_seconds(tmp_path) == pytest.approx(4 * 5000 / 100)


def test_offline_variants_name_their_runs_and_stack_their_overlays(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(Path(benchmark.ROOT) / "tools"))
    import bench_offline

    run = bench_offline.irl_run("medium_replay", 1, variant="fast_reward")
    assert run.name == "offline_ml_irl_medium_replay+fast_reward/seed1"
    assert [Path(c).name for c in run.configs] == ["hopper_medium_replay.yaml", "cpu.yaml", "fast_reward.yaml"], "the variant's overlay goes last"
    names = [r.name for r in bench_offline.runs_of("offline_ml_irl", [0], ("medium",), ("", "fast_reward"))]
    assert names == ["offline_ml_irl_medium/seed0", "offline_ml_irl_medium+fast_reward/seed0", "offline_ml_irl_medium_1traj/seed0"]
    with pytest.raises(SystemExit, match="unknown Offline ML-IRL variant 'fast_rewrd'"):
        bench_offline.irl_run("medium", 0, variant="fast_rewrd")


@pytest.mark.parametrize("script", sorted((Path(__file__).parents[1] / "tools").glob("*.py")), ids=lambda path: path.name)
def test_tool_scripts_compile(script: Path, tmp_path: Path):
    # Most tools run for hours and no test executes them end to end; a syntax error would only show on a user's
    # machine (bench_throughput.py carried one for a day).
    import py_compile

    py_compile.compile(str(script), cfile=str(tmp_path / "script.pyc"), doraise=True)


class _LoggedRun:
    """What :func:`benchmark.time_split` reads of a run: its logged scalars."""

    def __init__(self, scalars: dict[str, list[tuple[int, float]]]):
        self._scalars = scalars

    def scalars(self, tag: str) -> list[tuple[int, float]]:
        return self._scalars.get(tag, [])


def test_time_split_counts_a_part_as_zero_in_the_periods_it_did_not_run():
    # Five logging periods; an evaluation (40% of its period) in one of them: 8% of the run, not 40%.
    every = [(step, 0.5) for step in range(5)]
    run = _LoggedRun({"time_split/sac_updates": every, "time_split/evaluation": [(4, 0.4)],
                      "time_split/other": [(step, 0.5 - 0.4 * (step == 4)) for step in range(5)]})
    split = benchmark.time_split([run, _LoggedRun({})])
    assert split["sac_updates"] == pytest.approx(0.5) and split["evaluation"] == pytest.approx(0.08)
    assert sum(split.values()) == pytest.approx(1.0) and "relabel" not in split
    assert benchmark.time_split([_LoggedRun({})]) == {}
