"""Policy videos: headless MuJoCo rendering, ``lit-irl-data video``, the VideoRecorder callback."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from lit_irl import video
from lit_irl.data.cli import main as data_main
from lit_irl.data.rollout import Policy, export_policy, rollout
from lit_irl.envs import EnvConfig, probe_env
from lit_irl.errors import LitIRLError
from lit_irl.nn import TanhGaussianActor
from tests.conftest import run_cli, tiny_sac_args

# A few steps per episode: rendering without a GPU costs about 0.1 s a frame.
SHORT = EnvConfig("InvertedPendulum-v5", max_episode_steps=6)


@pytest.fixture(scope="module")
def rendering() -> None:
    problem = video._rendering_problem()
    if problem is not None:
        pytest.skip(f"no headless GL backend: {problem}; install libegl1 (MUJOCO_GL=egl) or libosmesa6 (MUJOCO_GL=osmesa)")


def _actor(config: EnvConfig = SHORT) -> TanhGaussianActor:
    torch.manual_seed(0)
    spec = probe_env(config)
    return TanhGaussianActor(spec.obs_dim, spec.act_dim, [16], spec.action_low, spec.action_high).eval()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    return export_policy(Policy(_actor(), SHORT, "test", 0, {}), tmp_path / "policy.pt")


def _frames_of(path: Path) -> list[np.ndarray]:
    reader = imageio.get_reader(path)
    try:
        return [np.asarray(frame) for frame in reader]
    finally:
        reader.close()


def test_record_episodes_renders_every_step(rendering):
    actor = _actor()
    frames, returns, lengths = video.record_episodes(actor, SHORT, episodes=2, seed=3, width=64, height=48)
    assert len(frames) == sum(lengths) + 2, "the reset state, then one frame per step, of each episode"
    assert all(frame.shape == (48, 64, 3) and frame.dtype == np.uint8 for frame in frames)
    assert all(frame.max() > 0 for frame in frames), "frames show the scene, not black"
    assert not np.array_equal(frames[0], frames[lengths[0]]), "the pendulum moves"
    # the same episodes `lit-irl-data demos` records with this seed
    expected = rollout(SHORT, actor, episodes=2, deterministic=True, seed=3, record_physics=False)
    np.testing.assert_allclose(returns, expected.episode_returns(), rtol=1e-5)
    assert lengths == [e - s for s, e in expected.episode_bounds()]


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_video_command_writes_a_readable_file(rendering, policy_file: Path, tmp_path: Path, capsys, suffix: str):
    out = tmp_path / "videos" / f"pendulum{suffix}"
    data_main(["video", "--policy", str(policy_file), "--episodes", "2", "--out", str(out), "--width", "64", "--height", "48", "--fps", "25"])
    printed = capsys.readouterr().out
    assert "episode 0: return" in printed and "episode 1: return" in printed and str(out) in printed
    lengths = [int(line.rsplit("length ", 1)[1]) for line in printed.splitlines() if line.startswith("episode ")]
    assert out.is_file() and out.stat().st_size > 0
    frames = _frames_of(out)
    assert len(frames) == sum(lengths) + 2
    assert frames[0].shape[:2] == (48, 64)
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name], "no temporary file is left beside the video"


def test_write_video_is_atomic_and_reads_back(tmp_path: Path):
    frames = [np.full((32, 48, 3), 40 * i, dtype=np.uint8) for i in range(5)]
    path = video.write_video(frames, tmp_path / "ramp.mp4", fps=10)
    read = _frames_of(path)
    assert len(read) == 5 and read[0].shape == (32, 48, 3)
    assert abs(float(read[4].mean()) - 160) < 5, "the frames' content survives the encoding"
    with pytest.raises(LitIRLError, match="frame width 47 is odd"):
        video.write_video([f[:, :47] for f in frames], tmp_path / "odd.mp4", fps=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ramp.mp4"], "a failed write leaves nothing"


def test_video_command_rejects_bad_output(policy_file: Path, tmp_path: Path, capsys):
    for out, extra, expected in [
        (tmp_path / "pendulum.avi", [], "name a video file ending in .mp4 or .gif"),
        (tmp_path / "pendulum.mp4", ["--width", "65"], "--width 65 is odd"),
        (tmp_path / "pendulum.mp4", ["--episodes", "0"], "--episodes must be >= 1"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            data_main(["video", "--policy", str(policy_file), "--out", str(out), *extra])
        assert exit_info.value.code == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("lit-irl-data: error: ") and expected in error, error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.pt"], "nothing is written"


def test_no_gl_backend_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(video, "_rendering_problem", lambda: "ImportError: Cannot initialize a EGL device display")
    with pytest.raises(LitIRLError) as error:
        video.check_rendering()
    message = str(error.value)
    for needed in ("MUJOCO_GL", "egl", "osmesa", "libegl1", "libosmesa6", "before mujoco is imported"):
        assert needed in message, needed


def test_video_recorder_writes_videos_during_fit(rendering, run_dir: Path):
    run_cli(
        "fit", *tiny_sac_args(run_dir, total=200, warmup=100),
        "--model.init_args.env.max_episode_steps", "10",
        "--video.every_n_steps", "100", "--video.width", "64", "--video.height", "48",
    )
    (folder,) = run_dir.glob("sac-InvertedPendulum-v5/version_*")
    videos = sorted(p.name for p in (folder / "videos").iterdir())
    assert videos == ["env_steps=100.mp4", "env_steps=200.mp4"]
    frames = _frames_of(folder / "videos" / "env_steps=200.mp4")
    assert 2 <= len(frames) <= 11 and frames[0].shape[:2] == (48, 64)


def test_video_recorder_is_off_by_default_and_checks_its_settings():
    from lit_irl.callbacks import VideoRecorder

    assert VideoRecorder().every_n_steps == 0
    with pytest.raises(LitIRLError, match="video.every_n_steps must be >= 0"):
        VideoRecorder(every_n_steps=-1)
    with pytest.raises(LitIRLError, match="video.width 101 is odd"):
        VideoRecorder(every_n_steps=10, width=101)
