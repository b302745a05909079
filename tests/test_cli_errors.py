# 19 bad inputs to `lit-irl`, each ending in one line `lit-irl: error: <problem>; <fix>`, exit status 2,
# no traceback, and no file or folder left behind (a failed start leaves no run folder): 7 about
# --ckpt_path, 5 Lightning trainer flags, 1 YAML syntax error, 2 negative numbers, 4 config values
# and options already handled before (kept here so that one place counts them all).
from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import lightning
import pytest
import torch

from tests.conftest import ROOT, run_cli, tiny_sac_args

# Info lines Lightning prints on stderr once the trainer exists (errors found while restoring a
# checkpoint come after them); anything else on stderr counts.
LIGHTNING_INFO = ("GPU available:", "TPU available:", "HPU available:", "Restoring states from the checkpoint path at")
RUN = "runs/sac-InvertedPendulum-v5"


def _fit(tmp: Path, *extra: str) -> list[str]:
    return ["fit", *tiny_sac_args(tmp / "runs"), *extra]


def _not_lit_irl(path: Path) -> Path:
    """A Lightning checkpoint that lit_irl did not write: it passes the up-front check (it loads, it
    is a Lightning checkpoint) and fails in the model's restore, after the run folder was created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"pytorch-lightning_version": lightning.__version__, "state_dict": {}}, path)
    return path


def _truncated(tmp: Path) -> Path:
    buffer = io.BytesIO()
    torch.save({"pytorch-lightning_version": lightning.__version__, "state_dict": {"w": torch.zeros(10_000)}}, buffer)
    path = tmp / "truncated.ckpt"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    return path


def _text_file(tmp: Path) -> Path:
    path = tmp / "notes.ckpt"
    path.write_text("not a checkpoint\n")
    return path


def _existing_run(tmp: Path) -> None:
    """runs/sac-InvertedPendulum-v5/version_0 with a last.ckpt (one lit_irl cannot resume) and a file of the user's."""
    _not_lit_irl(tmp / RUN / "version_0" / "checkpoints" / "last.ckpt")
    (tmp / RUN / "version_0" / "notes.txt").write_text("mine\n")


def _bad_yaml(tmp: Path) -> list[str]:
    config = tmp / "bad.yaml"
    config.write_text("model:\n  init_args: [unclosed\n")
    return ["fit", "--config", str(config), "--trainer.logger.init_args.save_dir", str(tmp / "runs")]


def _has_xla() -> bool:
    try:
        import torch_xla  # noqa: F401
    except ImportError:
        return False
    return True


Case = Callable[[Path], list[str]]
CASES: list = [
    # --ckpt_path: checked before the trainer (and its run folder) exists ...
    pytest.param(lambda t: _fit(t, "--ckpt_path", str(t / "nowhere" / "last.ckpt")), "does not exist", id="ckpt-missing"),
    pytest.param(lambda t: _fit(t, "--ckpt_path", str(_truncated(t))), "is truncated or corrupt", id="ckpt-truncated"),
    pytest.param(lambda t: _fit(t, "--ckpt_path", str(_text_file(t))), "is truncated or corrupt", id="ckpt-text-file"),
    pytest.param(
        lambda t: _fit(t, "--ckpt_path", str(ROOT / "zoo/InvertedPendulum-v5/expert.pt")),
        "is an exported policy",
        id="ckpt-exported-policy",
        marks=pytest.mark.skipif(not (ROOT / "zoo/InvertedPendulum-v5/expert.pt").is_file(), reason="no zoo policy"),
    ),
    # ... or failing in the restore, after the run folder was created: the folder goes again
    pytest.param(lambda t: _fit(t, "--ckpt_path", str(_not_lit_irl(t / "other.ckpt"))), "was not written by lit_irl", id="ckpt-not-lit-irl"),
    # continuing (fit) or evaluating (test) an existing run that fails: the run keeps what it had,
    # losing only what this command added (config.yaml / test_config.yaml, events file)
    pytest.param(lambda t: (_existing_run(t), _fit(t, "--ckpt_path", "last"))[1], "was not written by lit_irl", id="ckpt-last-existing-run"),
    pytest.param(
        lambda t: (_existing_run(t), ["test", *tiny_sac_args(t / "runs"), "--ckpt_path", "last"])[1],
        "was not written by lit_irl",
        id="test-ckpt-last-existing-run",
    ),
    # Lightning's own checks of trainer flags
    pytest.param(lambda t: _fit(t, "--trainer.devices", "0"), "--trainer.devices must be a positive number of devices or 'auto'", id="devices-0"),
    pytest.param(lambda t: _fit(t, "--trainer.devices=-3"), "--trainer.devices must be a positive number of devices or 'auto'", id="devices-negative"),
    pytest.param(lambda t: _fit(t, "--trainer.accelerator", "bogus"), "--trainer.accelerator bogus is unknown; use one of", id="accelerator-bogus"),
    pytest.param(
        lambda t: _fit(t, "--trainer.accelerator", "tpu"),
        "--trainer.accelerator tpu needs torch_xla",
        id="accelerator-tpu",
        marks=pytest.mark.skipif(_has_xla(), reason="torch_xla installed"),
    ),
    pytest.param(
        lambda t: _fit(t, "--trainer.accelerator", "gpu"),
        "no GPU on this machine; use --trainer.accelerator cpu",
        id="accelerator-gpu",
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
    ),
    # a config file that is not YAML: the file and the line
    pytest.param(_bad_yaml, "bad.yaml line 3, column 1: YAML syntax error", id="yaml-syntax"),
    # negative numbers: after a space argparse reads them as an option; with '=' the config's check refuses them
    pytest.param(
        lambda t: _fit(t, "--model.init_args.sac.actor_lr", "-1e-3"), "write --model.init_args.sac.actor_lr=-1e-3", id="negative-after-space"
    ),
    pytest.param(lambda t: _fit(t, "--model.init_args.sac.actor_lr=-1e-3"), "actor_lr must be > 0", id="negative-lr"),
    # handled before (tests/test_cli.py::test_bad_input_is_one_clear_line)
    pytest.param(lambda t: _fit(t, "--model.init_args.env.env_id", "Hoper-v5"), "unknown env id 'Hoper-v5'", id="env-id"),
    pytest.param(lambda t: _fit(t, "--model.init_args.bogus", "1"), "Option 'bogus' is not accepted", id="unknown-option"),
    pytest.param(lambda t: _fit(t, "--model.init_args.sac.batch_size", "-5"), "batch_size must be > 0", id="batch-size"),
    pytest.param(lambda t: _fit(t, "--ckpt_path", "last"), "--ckpt_path last: no ", id="ckpt-last-no-run"),
]


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) + ("/" if p.is_dir() else "") for p in folder.rglob("*"))


def _error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(LIGHTNING_INFO)]
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("lit-irl: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("case,expected", CASES)
def test_user_error_is_one_line_and_leaves_nothing_behind(tmp_path: Path, case: Case, expected: str):
    args = case(tmp_path)
    before = _listing(tmp_path)
    line = _error_line(run_cli(*args, cwd=tmp_path, check=False))
    assert expected in line, line
    assert _listing(tmp_path) == before


def test_the_count_at_the_top_is_right():
    assert f"# {len(CASES)} bad inputs" in Path(__file__).read_text().splitlines()[0]


def test_trainer_flag_errors_keep_real_bugs():
    """Only Lightning's refusals of a flag become one line: anything else keeps its traceback."""
    from lit_irl.cli_errors import _trainer_flag_error

    try:
        raise KeyError("a bug")
    except KeyError as error:
        assert _trainer_flag_error(error, {}) is None
    try:
        raise ValueError("a bug elsewhere")
    except ValueError as error:
        assert _trainer_flag_error(error, {}) is None


def test_negative_number_message():
    from lit_irl.cli_errors import _negative_after_space

    assert _negative_after_space(["fit", "--a.lr", "-1e-3"]) == "--a.lr -1e-3: a negative number after a space is read as an option; write --a.lr=-1e-3"
    assert _negative_after_space(["fit", "--a.lr=-1e-3", "--b", "x"]) is None
    assert _negative_after_space(["fit", "--a", "-b"]) is None
