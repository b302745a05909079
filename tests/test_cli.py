"""The spine through the CLI, as a user runs it: fit, test, resume, DDP, TensorBoard, bad input."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lit_irl.errors import LitIRLError
from tests.conftest import PENDULUM, ROOT, run_cli, tiny_sac_args

# Tags the README documents for every online algorithm.
DOCUMENTED_TAGS = {
    "loss/critic", "loss/actor", "loss/alpha", "alpha", "entropy", "q/mean",
    "train/episode_return", "eval/return_mean", "eval/return_std",
    "counters/env_steps", "counters/updates", "perf/env_steps_per_s", "perf/updates_per_s",
}


def _run_folder(save_dir: Path) -> Path:
    (folder,) = list(save_dir.glob("sac-InvertedPendulum-v5/version_*"))
    return folder


def _state(ckpt: Path) -> dict:
    return torch.load(ckpt, weights_only=False, map_location="cpu")


def test_help_is_useful():
    top = run_cli("--help").stdout
    assert "fit" in top and "validate" in top and "test" in top and "predict" not in top
    fit = run_cli("fit", "--help").stdout
    for option in ("--model", "--checkpoint.every_n_steps", "--evaluation.every_n_steps", "--trainer.strategy"):
        assert option in fit, option
    model = run_cli("fit", "--model.help", "lit_irl.algos.SAC").stdout
    for option in ("--model.env.env_id", "--model.sac.actor_hidden", "--model.training", "update-to-data"):
        assert option in model, option


def test_fit_then_test_and_tensorboard_tags(run_dir: Path):
    run_cli("fit", *tiny_sac_args(run_dir))
    folder = _run_folder(run_dir)
    ckpt = folder / "checkpoints" / "last.ckpt"
    state = _state(ckpt)
    assert int(state["state_dict"]["env_steps"]) == 600
    assert state["lit_irl"]["algo"] == "SAC" and state["lit_irl"]["env_id"] == "InvertedPendulum-v5"
    assert (folder / "config.yaml").exists()
    assert not list(folder.rglob("*.tmp")), "no temporary checkpoint files are left behind"

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = folder.glob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert DOCUMENTED_TAGS <= tags, DOCUMENTED_TAGS - tags
    steps = [event.step for event in accumulator.Scalars("counters/env_steps")]
    assert steps == sorted(steps) and steps[-1] == 600, "scalars are logged against env steps"

    elsewhere = run_dir / "cwd"
    elsewhere.mkdir(parents=True)
    result = run_cli(
        "test", "--config", str(folder / "config.yaml"), "--model.init_args.training.eval_episodes", "3", "--trainer.logger", "false",
        "--ckpt_path", str(ckpt), cwd=elsewhere,
    )
    assert "mean ± std" in result.stdout and "test/return_mean" in result.stdout
    assert not any(elsewhere.iterdir()), "a run without a logger writes nothing into the working directory"

    trained_with = (folder / "config.yaml").read_text()
    run_cli("test", *tiny_sac_args(run_dir), "--model.init_args.training.eval_episodes", "3", "--ckpt_path", "last")
    assert (folder / "config.yaml").read_text() == trained_with, "testing a run keeps the config it was trained with"
    assert "eval_episodes: 3" in (folder / "test_config.yaml").read_text()
    assert not list(folder.glob(".*.tmp")), "configs are written beside and renamed"


def test_resume_after_sigkill_or_sigterm_is_bit_identical(run_dir: Path):
    """2N steps straight == N steps, SIGKILL right after the checkpoint, resume to 2N; and == a run
    sent SIGTERM between checkpoints (it saves last.ckpt after the batch under way), resumed to 2N."""
    straight, killed, terminated = run_dir / "straight", run_dir / "killed", run_dir / "terminated"
    run_cli("fit", *tiny_sac_args(straight, total=800))
    interrupted = run_cli(
        "fit", *tiny_sac_args(killed, total=800),
        "--trainer.callbacks+=tests.helpers.KillAfterCheckpoint", "--trainer.callbacks.steps", "400",
        check=False,
    )
    assert interrupted.returncode == -signal.SIGKILL, interrupted.stderr[-2000:]
    partial = _state(_run_folder(killed) / "checkpoints" / "last.ckpt")
    assert int(partial["state_dict"]["env_steps"]) == 400
    run_cli("fit", *tiny_sac_args(killed, total=800), "--ckpt_path", "last")

    preempted = run_cli(
        "fit", *tiny_sac_args(terminated, total=800),
        "--trainer.callbacks+=tests.helpers.TerminateAt", "--trainer.callbacks.steps", "500",
        check=False,
    )
    assert preempted.returncode == 128 + signal.SIGTERM, preempted.stderr[-2000:]
    last = _run_folder(terminated) / "checkpoints" / "last.ckpt"
    assert f"stopped by SIGTERM after the batch under way; {last} holds it, continue with --ckpt_path {last}" in preempted.stderr
    assert "Traceback" not in preempted.stderr
    steps_per_batch = 10  # the pendulum config's env_steps_per_batch
    partial = _state(last)
    assert int(partial["state_dict"]["env_steps"]) == 500 + steps_per_batch, "saved after the batch under way"
    # resumed, and sent SIGTERM again during its last batch: that run is finished, not stopped
    finished = run_cli(
        "fit", *tiny_sac_args(terminated, total=800), "--ckpt_path", "last",
        "--trainer.callbacks+=tests.helpers.TerminateAt", "--trainer.callbacks.steps", str(800 - steps_per_batch),
        check=False,
    )
    assert finished.returncode == 0 and "training finished" in finished.stderr, finished.stderr[-2000:]

    # SIGTERM while testing: nothing trained, so nothing is written (no logger: not even a folder)
    elsewhere = run_dir / "cwd"
    elsewhere.mkdir()
    tested = run_cli(
        "test", *tiny_sac_args(terminated, total=800), "--trainer.logger", "false", "--ckpt_path", str(_run_folder(terminated) / "checkpoints" / "last.ckpt"),
        "--trainer.callbacks+=tests.helpers.TerminateAt", "--trainer.callbacks.steps", "0",
        check=False, cwd=elsewhere,
    )
    assert tested.returncode == 128 + signal.SIGTERM and "no checkpoint written now" in tested.stderr, tested.stderr[-2000:]
    assert not any(elsewhere.iterdir())

    a = _state(_run_folder(straight) / "checkpoints" / "last.ckpt")
    for resumed in (killed, terminated):
        b = _state(_run_folder(resumed) / "checkpoints" / "last.ckpt")
        assert int(b["state_dict"]["env_steps"]) == 800
        different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
        assert not different, f"{resumed.name}: parameters differ after resume: {different}"
        for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"]):
            for sa, sb in zip(opt_a["state"].values(), opt_b["state"].values()):
                assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_ddp_two_processes_hold_identical_parameters(run_dir: Path):
    params = run_dir / "params"
    run_cli(
        # strategy auto: Lightning picks DDP for two devices, and the CLI must make it work.
        "fit", *tiny_sac_args(run_dir, total=800),
        "--trainer.devices", "2",
        "--trainer.callbacks+=tests.helpers.SaveRankParameters", "--trainer.callbacks.directory", str(params),
        timeout=600,
    )
    rank0, rank1 = torch.load(params / "rank0.pt"), torch.load(params / "rank1.pt")
    assert int(rank0["env_steps"]) == 800, "env steps count both ranks"
    assert int(rank0["policy.updates"]) > 0
    different = [k for k in rank0 if not torch.equal(rank0[k], rank1[k])]
    assert not different, different
    ckpt = _state(_run_folder(run_dir) / "checkpoints" / "last.ckpt")
    first_obs = [c["replay"]["data"]["obs"][0] for c in ckpt["collection"]]
    assert len(first_obs) == 2 and not torch.equal(*first_obs), "each rank collects with its own seed"

    # Preemption: SIGTERM to one rank only; the ranks agree to stop after the same batch, save
    # last.ckpt together (every rank's run state), and the resumed run ends where the straight one did.
    preempted_dir = run_dir / "preempted"
    preempted = run_cli(
        "fit", *tiny_sac_args(preempted_dir, total=800), "--trainer.devices", "2",
        "--trainer.callbacks+=tests.helpers.TerminateAt", "--trainer.callbacks.steps", "400", "--trainer.callbacks.rank", "1",
        check=False, timeout=600,
    )
    assert preempted.returncode == 128 + signal.SIGTERM, preempted.stderr[-3000:]
    last = _run_folder(preempted_dir) / "checkpoints" / "last.ckpt"
    assert preempted.stderr.count("stopped by SIGTERM after the batch under way") == 1, preempted.stderr[-3000:]
    saved = _state(last)
    assert int(saved["state_dict"]["env_steps"]) == 420 and len(saved["collection"]) == 2, "both ranks' state, one batch after the signal"
    run_cli("fit", *tiny_sac_args(preempted_dir, total=800), "--trainer.devices", "2", "--ckpt_path", "last", timeout=600)
    resumed = _state(last)["state_dict"]
    different = [k for k in ckpt["state_dict"] if not torch.equal(ckpt["state_dict"][k], resumed[k])]
    assert not different, f"a preempted DDP run resumed differs from the straight one: {different}"


# ---------------------------------------------------------------- bad input
def _error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("lit-irl: error:")]
    assert len(lines) == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--model.init_args.env.env_id", "Hoper-v5"], "unknown env id 'Hoper-v5'"),
        (["--model.init_args.bogus", "1"], "Option 'bogus' is not accepted"),
        (["--trainer.max_epochz", "1"], "max_epochz"),
        (["--model.init_args.sac.actor_hidden", "[64, 0]"], "actor_hidden must be > 0"),
        (["--model.init_args.off_policy.buffer_size", "0"], "buffer_size must be > 0"),
        (["--model.init_args.off_policy.buffer_size", "100"], "warmup_steps (200) exceeds buffer_size (100)"),
        (["--model.init_args.sac.batch_size", "-5"], "batch_size must be > 0"),
        (["--checkpoint.every_n_steps", "0"], "every_n_steps must be > 0"),
        (["--ckpt_path", "/nonexistent/last.ckpt"], "does not exist"),
        (["--ckpt_path", "last"], "no "),
    ],
)
def test_bad_input_is_one_clear_line(run_dir: Path, extra: list[str], expected: str):
    line = _error(run_cli("fit", *tiny_sac_args(run_dir), *extra, check=False))
    assert expected in line, line


def test_bad_config_file_key(run_dir: Path, tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("model:\n  class_path: lit_irl.algos.SAC\n  init_args:\n    env: {env_id: Hopper-v5}\n    utd_ration: 2\n")
    line = _error(run_cli("fit", "--config", str(config), check=False))
    assert "utd_ration" in line


def test_bad_checkpoints(run_dir: Path, tmp_path: Path):
    run_cli("fit", *tiny_sac_args(run_dir, total=200, warmup=100))
    ckpt = _run_folder(run_dir) / "checkpoints" / "last.ckpt"

    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 3])
    assert "truncated or corrupt" in _error(run_cli("fit", *tiny_sac_args(run_dir), "--ckpt_path", str(truncated), check=False))

    other_env = _error(run_cli("fit", *tiny_sac_args(run_dir), "--model.init_args.env.env_id", "Hopper-v5", "--ckpt_path", str(ckpt), check=False))
    assert "is for InvertedPendulum-v5 (obs 4, act 1" in other_env and "Hopper-v5 (obs 11, act 3" in other_env

    other_sizes = _error(run_cli("test", "--config", PENDULUM, "--trainer.logger", "false", "--ckpt_path", str(ckpt), check=False))
    assert "actor.net.0.weight of shape (32, 4), this config builds (256, 4)" in other_sizes

    state = _state(ckpt)
    state["lit_irl"]["algo"] = "MLIRL"
    other_algo = tmp_path / "other_algo.ckpt"
    torch.save(state, other_algo)
    assert "written by MLIRL, this run is SAC" in _error(run_cli("fit", *tiny_sac_args(run_dir), "--ckpt_path", str(other_algo), check=False))

    state = _state(ckpt)
    state["state_dict"]["critic.extra.weight"] = state["state_dict"].pop("actor.net.0.weight")
    other_keys = tmp_path / "other_keys.ckpt"
    torch.save(state, other_keys)
    line = _error(run_cli("fit", *tiny_sac_args(run_dir), "--ckpt_path", str(other_keys), check=False))
    assert "missing: actor.net.0.weight; not in this config: critic.extra.weight" in line

    state = _state(ckpt)
    state["lit_irl"]["format"] = 99
    future = tmp_path / "future.ckpt"
    torch.save(state, future)
    assert "checkpoint format 99" in _error(run_cli("fit", *tiny_sac_args(run_dir), "--ckpt_path", str(future), check=False))

    other_buffer = _error(run_cli("fit", *tiny_sac_args(run_dir), "--model.init_args.off_policy.buffer_size", "300", "--ckpt_path", str(ckpt), check=False))
    assert "buffer holds up to" in other_buffer and "this config's buffer_size is 300" in other_buffer

    from lit_irl.data.rollout import export_policy, load_policy

    exported = export_policy(load_policy(ckpt), tmp_path / "expert.pt")
    assert "is an exported policy" in _error(run_cli("fit", *tiny_sac_args(run_dir), "--ckpt_path", str(exported), check=False))


def test_ckpt_path_last_continues_only_a_run_of_the_same_config(run_dir: Path):
    run_cli("fit", *tiny_sac_args(run_dir, total=200, warmup=100))
    other = _error(run_cli("fit", *tiny_sac_args(run_dir, total=400, warmup=100), "--model.init_args.sac.actor_lr", "1e-4", "--ckpt_path", "last", check=False))
    assert "trained with other model settings" in other and "version_0, differs in sac.actor_lr" in other
    saved = _run_folder(run_dir) / "config.yaml"  # as if written by an older lit_irl, without a setting added since
    older = saved.read_text().replace("  collector_workers:", "  # collector_workers:")
    assert older != saved.read_text()
    saved.write_text(older)
    run_cli("fit", *tiny_sac_args(run_dir, total=400, warmup=100), "--ckpt_path", "last")  # a longer budget continues it
    assert [p.name for p in run_dir.glob("*/*")] == ["version_0"]
    assert int(_state(_run_folder(run_dir) / "checkpoints" / "last.ckpt")["state_dict"]["env_steps"]) == 400


def test_model_settings_compare_meaning_not_spelling():
    from lit_irl.cli import _differences, _model_settings

    def settings(class_path: str, **init_args) -> dict:
        return _model_settings({"model": {"class_path": class_path, "init_args": init_args}})

    ours = settings("lit_irl.algos.MLIRL", demonstrations="zoo/Hopper-v5/expert_demos.hdf5", reward={"lr": 1e-4}, training={"total_steps": 10})
    assert _differences(ours, settings("lit_irl.algos.ml_irl.MLIRL", demonstrations="./zoo/Hopper-v5/expert_demos.hdf5", reward={"lr": 0.0001})) == []
    assert _differences(ours, settings("lit_irl.algos.MLIRL", demonstrations="zoo/Hopper-v5/expert_demos.hdf5", reward={"lr": 1e-3})) == ["reward.lr"]
    assert _differences(ours, None) == []


def test_hide_reward_is_derived_not_a_setting(run_dir: Path):
    assert "hide_reward" in _error(run_cli("fit", *tiny_sac_args(run_dir), "--model.init_args.env.hide_reward", "true", check=False))


def test_resume_from_a_compact_checkpoint_refills_the_buffer(run_dir: Path, tmp_path: Path):
    run_cli("fit", *tiny_sac_args(run_dir, total=300, warmup=100))
    ckpt = _run_folder(run_dir) / "checkpoints" / "last.ckpt"
    compact = tmp_path / "compact.ckpt"
    subprocess.run([sys.executable, "tools/compact_checkpoint.py", str(ckpt), str(compact)], check=True, cwd=Path(__file__).parents[1])
    assert "collection" not in _state(compact) and compact.stat().st_size < ckpt.stat().st_size
    refill = ["--model.init_args.off_policy.resume_refill_steps", "200"]
    result = run_cli("fit", *tiny_sac_args(tmp_path / "resumed", total=600, warmup=100), *refill, "--ckpt_path", str(compact))
    assert "refills with the current policy for 200 steps" in result.stderr
    resumed = _state(next((tmp_path / "resumed").glob("*/version_0/checkpoints/last.ckpt")))
    updates_before, updates_after = int(_state(ckpt)["state_dict"]["policy.updates"]), int(resumed["state_dict"]["policy.updates"])
    assert int(resumed["state_dict"]["env_steps"]) == 600
    # the fresh run updated after its 100 warm-up steps, the resumed one after refilling 200 (one update per env step
    # after both): 100 updates fewer
    assert updates_after - updates_before == updates_before - 100
    # its buffer starts at step 300, so it cannot give the medium-replay rows of steps [0, n)
    from lit_irl.data.cli import replay_dataset

    with pytest.raises(LitIRLError, match="does not start at step 0"):
        replay_dataset(next((tmp_path / "resumed").glob("*/version_0/checkpoints/last.ckpt")), up_to_env_steps=200)


def test_resume_from_a_carried_checkpoint_keeps_the_recent_replay(run_dir: Path, tmp_path: Path):
    """``--replay-rows`` (what ``--carry`` packs): env, RNG and the newest transitions travel; the run
    continues updating at once instead of refilling from empty."""
    run_cli("fit", *tiny_sac_args(run_dir, total=300, warmup=100))
    ckpt = _run_folder(run_dir) / "checkpoints" / "last.ckpt"
    carried = tmp_path / "carried.ckpt"
    subprocess.run([sys.executable, "tools/compact_checkpoint.py", str(ckpt), str(carried), "--replay-rows", "150"], check=True, cwd=Path(__file__).parents[1])
    replay = _state(carried)["collection"][0]["replay"]
    assert len(replay["data"]) == 150 and replay["recent_of"] == 300
    assert torch.equal(replay["data"]["obs"], _state(ckpt)["collection"][0]["replay"]["data"]["obs"][-150:])
    result = run_cli("fit", *tiny_sac_args(tmp_path / "resumed", total=400, warmup=100), "--ckpt_path", str(carried))
    assert "holds the 150 most recent of 300 transitions" in result.stderr
    resumed = _state(next((tmp_path / "resumed").glob("*/version_0/checkpoints/last.ckpt")))
    # no refill: one update per env step from the first resumed step
    assert int(resumed["state_dict"]["policy.updates"]) - int(_state(ckpt)["state_dict"]["policy.updates"]) == 100
    assert len(resumed["collection"][0]["replay"]["data"]) == 250


@pytest.mark.parametrize("collector", ["torchrl", "torchrl_multi"])
def test_fit_with_torchrl_collectors(run_dir: Path, collector: str):
    run_cli("fit", *tiny_sac_args(run_dir, total=300, warmup=100), "--model.init_args.collection.collector", collector)
    ckpt = _run_folder(run_dir) / "checkpoints" / "last.ckpt"
    state = _state(ckpt)
    assert int(state["state_dict"]["env_steps"]) == 300 and int(state["state_dict"]["policy.updates"]) > 0
    # continued with the default collector: the other runner's state is skipped with a warning, not a traceback
    resumed = run_cli("fit", *tiny_sac_args(run_dir / "fast", total=400, warmup=100), "--ckpt_path", str(ckpt))
    assert "collected with the torchrl collector, this run uses fast" in resumed.stderr


@pytest.mark.parametrize("config", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "configs").rglob("*.yaml")))
def test_every_config_parses(config: str, capsys):
    from lit_irl.cli import main

    # an overlay is a second --config over a full one of its folder (tools/bench_ml_irl.py variants a+b, the CPU profiles)
    bases = {"ml_irl": "hopper_state_only.yaml", "offline_ml_irl": "hopper_medium.yaml", "world_model": "hopper_medium.yaml"}
    folder = Path(config).parent.parent
    base = ["--config", str(folder / bases[folder.name])] if "/overlays/" in config else []
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *base, "--config", config, "--print_config"])
    assert exit_info.value.code in (0, None)
    assert "class_path: lit_irl." in capsys.readouterr().out


def test_check_precision_tool_compares_bf16_with_float32_on_the_runs_replay(run_dir: Path, tmp_path: Path):
    run_cli("fit", *tiny_sac_args(run_dir, total=300, warmup=100))
    ckpt = _run_folder(run_dir) / "checkpoints" / "last.ckpt"
    tool = [sys.executable, "tools/check_precision.py"]
    result = subprocess.run([*tool, str(ckpt), "--rows", "200", "--batch", "32", "--batches", "2"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "300 replay rows" in result.stdout and "bf16 vs float32 Q: mean |diff|" in result.stdout
    assert len([line for line in result.stdout.splitlines() if line.startswith("| 0 |") or line.startswith("| 1 |")]) == 2
    # without a replay buffer there is nothing to measure on: one line that says what to pass
    bare = tmp_path / "bare.ckpt"
    subprocess.run([*tool[:1], "tools/compact_checkpoint.py", str(ckpt), str(bare)], check=True, cwd=ROOT)
    result = subprocess.run([*tool, str(bare)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0 and "no replay buffer in this checkpoint" in result.stderr


def test_build_zoo_carries_an_unfinished_expert_run(run_dir: Path, tmp_path: Path):
    """An expert that takes several sessions: its compact checkpoint (with the recent replay), the actor
    of each kept checkpoint (the final build's candidates) and its events travel; the run continues."""
    run_cli("fit", *tiny_sac_args(run_dir, total=300, warmup=100), "--checkpoint.keep_all", "true")
    carried = tmp_path / "carry"
    subprocess.run([sys.executable, "tools/build_zoo.py", "--run-dir", str(_run_folder(run_dir)), "--carry", str(carried)], check=True, cwd=ROOT)
    assert sorted(p.name for p in (carried / "actors").glob("*.pt")) == ["env_steps=150.pt", "env_steps=300.pt"]
    assert any(carried.glob("events.out.tfevents.*"))
    assert len(_state(carried / "last.ckpt")["collection"][0]["replay"]["data"]) == 300
    from lit_irl.data.rollout import load_policy

    assert load_policy(carried / "actors" / "env_steps=300.pt").env_steps == 300
    # the final build can start from the carried folder alone (a new machine has no run folder)
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_zoo_tool", ROOT / "tools" / "build_zoo.py")
    build_zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_zoo)
    assert [p.name for p in build_zoo.candidate_checkpoints(carried)] == ["env_steps=150.pt", "env_steps=300.pt"]
    assert [p.name for p in build_zoo.candidate_checkpoints(_run_folder(run_dir))] == ["env_steps=150.ckpt", "env_steps=300.ckpt"]
    run_cli("fit", *tiny_sac_args(tmp_path / "resumed", total=400, warmup=100), "--ckpt_path", str(carried / "last.ckpt"))
    assert int(_state(next((tmp_path / "resumed").glob("*/version_0/checkpoints/last.ckpt")))["state_dict"]["env_steps"]) == 400
