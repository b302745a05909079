"""The results layer on two tiny fake runs: events -> summary with IQM and CI -> curves, comparisons, the results page."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

from lit_irl import benchmark
from lit_irl.benchmark import BenchmarkRun
from lit_irl.reporting import (
    SUMMARY_HEADER,
    curve_band,
    eval_summary,
    improvement_rows,
    method_scores,
    plot_curves,
    plot_performance_profiles,
    summary_cells,
)
from tests.conftest import PENDULUM, ROOT

# Two seeds of one method: eval returns at 10..70 env steps (7 evaluations), 100 env steps/s.
CURVES = {0: [10, 20, 30, 40, 50, 60, 70], 1: [30, 40, 50, 60, 70, 80, 90]}


@pytest.fixture
def fake_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[BenchmarkRun]:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path / "results")
    runs = []
    for seed, values in CURVES.items():
        run = BenchmarkRun(f"fake/seed{seed}", [Path(PENDULUM)])
        writer = SummaryWriter(str(run.folder / "run"))
        for k, value in enumerate(values):
            writer.add_scalar("eval/return_mean", value, 10 * (k + 1))
            writer.add_scalar("perf/env_steps_per_s", 100.0, 10 * (k + 1))
        writer.close()
        runs.append(run)
    return runs


def test_summary_of_fake_runs_has_iqm_and_ci(fake_runs):
    summary = eval_summary(fake_runs, reference=100.0)
    # Last 5 evaluations: seed 0 -> mean(30..70) = 50, seed 1 -> mean(50..90) = 70; IQM of 2 values = their mean.
    assert summary["seed_recents"] == pytest.approx([50.0, 70.0])
    point, low, high = summary["recent_iqm"]
    assert point == pytest.approx(60.0) and 50.0 <= low <= point <= high <= 70.0
    assert summary["recent_iqm_ratio"][0] == pytest.approx(0.6)
    assert summary["final_mean"] == pytest.approx(80.0) and summary["env_steps"] == 70
    assert summary["wall_time_h"] == pytest.approx(0.7 / 3600)
    cells = summary_cells(summary)
    assert len(cells) == len(SUMMARY_HEADER) and cells[4].startswith("60.0 [")
    assert eval_summary(fake_runs[:1], reference=100.0)["recent_iqm"] == pytest.approx([50.0, 50.0, 50.0])
    assert summary_cells(eval_summary(fake_runs[:1], reference=100.0))[4] == "50.0", "one seed: no interval shown"

    steps, iqm_curve, low_curve, high_curve = curve_band(summary["curves"])
    assert list(steps) == [10, 20, 30, 40, 50, 60, 70]
    assert iqm_curve == pytest.approx([20, 30, 40, 50, 60, 70, 80]) and np.all(low_curve <= iqm_curve) and np.all(iqm_curve <= high_curve)


def test_finished_only_leaves_a_carried_seed_out_of_the_numbers(fake_runs, monkeypatch):
    monkeypatch.setattr(BenchmarkRun, "finished", lambda run: run.name.endswith("seed0"))
    summary = eval_summary(fake_runs, reference=100.0, finished_only=True)
    assert summary["seeds"] == 1 and summary["seed_finals"] == [70.0], "seed 1 has not reached its budget"
    assert summary["unfinished"] == {"fake/seed1": 70} and set(summary["curves"]) == {"fake/seed0", "fake/seed1"}
    assert summary_cells(summary)[0] == "1 (+1 unfinished, at 70)"
    assert eval_summary(fake_runs, reference=100.0)["seeds"] == 2, "off by default: every seed counts"
    assert eval_summary(fake_runs, reference=100.0, finished_only="if_any")["seeds"] == 1, "one seed finished: the rest wait"
    monkeypatch.setattr(BenchmarkRun, "finished", lambda run: False)
    assert eval_summary(fake_runs, reference=100.0, finished_only="if_any")["seeds"] == 2, "none finished (probes): every seed counts"


def test_comparisons_and_figures(fake_runs, tmp_path: Path):
    better = eval_summary(fake_runs, reference=100.0)
    worse = {**better, "seed_recents": [10.0, 20.0]}
    scores = method_scores({"better": better, "worse": worse, "no reference": {**better, "reference": None}})
    assert set(scores) == {"better", "worse"} and scores["better"].shape == (2, 1)
    ((x, y, estimate, seeds),) = improvement_rows(scores, [("better", "worse"), ("better", "absent")])
    assert (x, y, seeds) == ("better", "worse", "2 vs 2") and estimate == "1.00", "every better seed beats every worse one"
    plot_curves([("fake", better["curves"], 100.0, "reference")], tmp_path / "curves.png")
    plot_performance_profiles(scores, tmp_path / "profiles.png", "fake")
    assert (tmp_path / "curves.png").stat().st_size > 1000 and (tmp_path / "profiles.png").stat().st_size > 1000


def test_report_page_from_fake_runs(fake_runs, tmp_path: Path):
    spec = importlib.util.spec_from_file_location("report_tool", ROOT / "tools" / "report.py")
    report = importlib.util.module_from_spec(spec)
    sys.modules["report_tool"] = report  # dataclasses look their module up there
    spec.loader.exec_module(report)
    results = tmp_path / "page"
    results.mkdir()
    summary = eval_summary(fake_runs, reference=100.0)
    (results / "ml_irl_hopper.json").write_text(json.dumps([{"env": "Hopper-v5", "variant": "state_only", **summary}]))
    report.main(["--page-only", "--results", str(results)])
    page = (results / "README.md").read_text()
    assert "## ML-IRL on Hopper-v5" in page and "state_only: ours 0.60 [" in page and "(2 seeds, 70 steps)" in page
    assert "paper 0.86" in page
    # the cross-env Table 2.1 layout: one row per reward form and configuration, the thesis's ratios below
    assert "## ML-IRL across envs" in page and "| ML-IRL(S), official configuration | 0.60 (2 seeds" in page
    assert "| ML-IRL(S), thesis | 0.86 |" in page and "| ML-IRL(SA), thesis | 0.87 |" in page
    assert "## Transfer across dynamics" in page and "Not run yet." in page, "a table without data is listed as not run"
    # entries without seeds (the transfer table's measured random policy) are not rows
    (results / "transfer_ant.json").write_text(json.dumps({"data_transfer": summary, "random_policy": {"mean": -12.0, "std": 9.0, "episodes": 10}}))
    report.main(["--page-only", "--results", str(results)])
    page = (results / "README.md").read_text()
    assert "data transfer: ours 0.60 [" in page and "Seeds per row: 2" in page
    # a row whose only seed is still carried toward its budget says so, with where it stands
    carried = {**summary, "seeds": 0, "recent_iqm_ratio": None, "env_steps": 0, "unfinished": {"walker2d_state_only/seed0": 400_000}}
    (results / "ml_irl_walker2d.json").write_text(json.dumps([{"env": "Walker2d-v5", "variant": "state_only", **carried}]))
    report.main(["--page-only", "--results", str(results)])
    page = (results / "README.md").read_text()
    assert "state_only: ours unfinished (walker2d_state_only/seed0 at 400,000 steps) of our expert, paper 0.82" in page
    assert "budgets: no run finished yet" in page
