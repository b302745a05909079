"""``lit-irl-data`` on bad input: one line on stderr, a non-zero exit, no traceback, no file left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "zoo" / "InvertedPendulum-v5" / "expert.pt"


def data_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lit_irl.data.cli", *map(str, args)],
        check=False, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300,
    )


def listing(folder: Path) -> list[str]:
    """Everything under ``folder``, hidden temp files and symlinks included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_fails_cleanly(folder: Path, *args: str | Path) -> str:
    """Run the command; it must fail with one stderr line, no traceback, and leave ``folder`` as it was."""
    before = listing(folder)
    result = data_cli(*args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lit-irl-data: error: "), lines[0]
    assert listing(folder) == before, "a failed command left files behind"
    return lines[0]


@pytest.mark.parametrize("command", ["demos", "export"])
def test_out_is_a_directory(tmp_path: Path, command: str):
    folder = tmp_path / "data"
    folder.mkdir()
    extra = ["--episodes", "1"] if command == "demos" else []
    line = assert_fails_cleanly(tmp_path, command, "--policy", POLICY, *extra, "--out", folder)
    assert f"--out {folder} is a directory" in line and "give a file path" in line
    assert (".hdf5" if command == "demos" else ".pt") in line


def test_out_parent_is_a_file(tmp_path: Path):
    (tmp_path / "somefile.txt").write_text("not a folder")
    line = assert_fails_cleanly(tmp_path, "demos", "--policy", POLICY, "--episodes", "1", "--out", tmp_path / "somefile.txt" / "out.hdf5")
    assert f"{tmp_path / 'somefile.txt'} is not a directory" in line


def test_out_symlink_is_followed_and_kept(tmp_path: Path):
    from lit_irl.data.d4rl import load_dataset

    (tmp_path / "real").mkdir()
    target, link = tmp_path / "real" / "demos.hdf5", tmp_path / "demos.hdf5"
    link.symlink_to(Path("real") / "demos.hdf5")  # dangling until written: resolve() must still follow it
    before = listing(tmp_path)
    result = data_cli("demos", "--policy", POLICY, "--episodes", "1", "--num-envs", "1", "--out", link)
    assert result.returncode == 0, result.stderr[-3000:]
    assert link.is_symlink() and link.resolve() == target.resolve(), "the link was replaced by a regular file"
    assert target.is_file() and not target.is_symlink()
    assert len(load_dataset(link, "InvertedPendulum-v5").episode_bounds()) == 1
    assert listing(tmp_path) == sorted([*before, "real/demos.hdf5"]), "only the target appears; no temp file is left"


@pytest.mark.parametrize(
    ("command", "value"),
    [
        ("demos", "0"),
        ("offline", "-1"),
        ("preferences", "0"),
    ],
)
def test_num_envs_must_be_positive(tmp_path: Path, command: str, value: str):
    source = {
        "demos": ["--policy", POLICY, "--episodes", "1"],
        "offline": ["--kind", "random", "--env", "InvertedPendulum-v5", "--transitions", "10"],
        "preferences": ["--checkpoints", POLICY, POLICY],
    }[command]
    line = assert_fails_cleanly(tmp_path, command, *source, "--num-envs", value, "--out", tmp_path / "out.hdf5")
    assert "--num-envs must be >= 1" in line


def test_episodes_must_be_positive(tmp_path: Path):
    line = assert_fails_cleanly(tmp_path, "demos", "--policy", POLICY, "--episodes", "0", "--out", tmp_path / "out.hdf5")
    assert "--episodes must be >= 1" in line


@pytest.mark.parametrize("problem", ["missing", "truncated", "foreign"])
def test_bad_policy_file(tmp_path: Path, problem: str):
    policy = tmp_path / "policy.pt"
    if problem == "truncated":
        policy.write_bytes(POLICY.read_bytes()[:3000])
    elif problem == "foreign":
        import torch

        torch.save({"weights": torch.zeros(3)}, policy)
    line = assert_fails_cleanly(tmp_path, "demos", "--policy", policy, "--episodes", "1", "--out", tmp_path / "out.hdf5")
    expected = {"missing": "does not exist", "truncated": "is truncated or corrupt", "foreign": "is not a lit_irl policy"}[problem]
    assert f"--policy {policy} {expected}" in line
    assert "runs/<run>/checkpoints/*.ckpt" in line and "zoo/<env>/*.pt" in line
    assert "ckpt_path" not in line, "lit-irl-data has no --ckpt_path"
