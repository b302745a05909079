"""``lit-irl``: LightningCLI for every algorithm (``fit``, ``validate``, ``test``).

    lit-irl fit --config configs/sac/hopper.yaml
    lit-irl fit --config configs/sac/hopper.yaml --ckpt_path last      # continue the latest run (also after SIGTERM)
    lit-irl test --config configs/sac/hopper.yaml --ckpt_path runs/sac-Hopper-v5/version_0/checkpoints/last.ckpt

Runs are written to ``runs/<algo>-<env>/version_<n>/`` (TensorBoard events, ``config.yaml``,
``checkpoints/``). Whatever DDP strategy Lightning resolves (``--trainer.strategy ddp``, or
``auto`` with several devices) gets ``find_unused_parameters`` because manual-optimization
algorithms make several backward passes per step, each touching one network (plain DDP would fail
at the second step).

A user error (a bad value, flag, config file or checkpoint) ends in one line, ``lit-irl: error:
<problem>; <fix>``, exit status 2, and leaves no run folder behind: a ``--ckpt_path`` is read (and
checked) before the trainer creates anything, and what this command added to a run folder is removed
when it fails before its first batch (a folder that existed before keeps what it held).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from argparse import ArgumentError
from pathlib import Path
from typing import Any

import jsonargparse
import yaml
from jsonargparse import Namespace
from lightning import LightningModule
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ProgressBar as LightningProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher
from lightning.pytorch.utilities.exceptions import SIGTERMException

import lit_irl.algos  # noqa: F401  (makes ``--model SAC`` resolvable by its short name)
from lit_irl.callbacks import AgreedSigterm, Evaluation, ProgressBar, ProgressCheckpoint, VideoRecorder
from lit_irl.checkpoint_io import AtomicCheckpointIO
from lit_irl.cli_errors import ReadOnceCheckpointIO, RunFiles, _is_config_error, _one_line, _trainer_flag_error
from lit_irl import runtime
from lit_irl.errors import LitIRLError

# dump() keeping None values: jsonargparse 4.49 renamed skip_none (a deprecation warning on every `--ckpt_path last`).
_KEEP_NONE = {"skip_unset": False} if tuple(int(x) for x in re.findall(r"\d+", jsonargparse.__version__)[:2]) >= (4, 49) else {"skip_none": False}

TRAINER_DEFAULTS: dict[str, Any] = {
    "logger": {"class_path": "lightning.pytorch.loggers.TensorBoardLogger", "init_args": {"save_dir": "runs"}},
    "max_epochs": -1,
    "num_sanity_val_steps": 0,
    "enable_model_summary": False,
    "log_every_n_steps": 1,
    "accelerator": "cpu",
}


class LitIRLCLI(LightningCLI):
    def __init__(self, *args: Any, run_files: RunFiles | None = None, **kwargs: Any) -> None:
        # Given by main(), which outlives a constructor that raises: it removes what a failed command wrote.
        self.run_files = run_files if run_files is not None else RunFiles()
        super().__init__(*args, **kwargs)

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {name: keys for name, keys in LightningCLI.subcommands().items() if name != "predict"}

    def _parse_ckpt_path(self) -> None:
        """The run's config comes from --config: the checkpoint is read once, by AtomicCheckpointIO
        (Lightning's version would load it a second time, with weights_only, and fail on RNG states)."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # Always present (a config's own trainer.callbacks list cannot drop them by accident).
        parser.add_lightning_class_args(ProgressCheckpoint, "checkpoint")
        parser.add_lightning_class_args(Evaluation, "evaluation")
        parser.add_lightning_class_args(VideoRecorder, "video")  # off unless video.every_n_steps > 0

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        logger = config.trainer.logger
        tensorboard = isinstance(logger, Namespace) and str(logger.get("class_path", "")).endswith("TensorBoardLogger")
        if tensorboard and logger.init_args.get("name", "lightning_logs") == "lightning_logs":
            algo = str(config.model.class_path).rsplit(".", 1)[-1].lower()
            env = config.model.init_args.get("env")
            logger.init_args.name = f"{algo}-{env.env_id}" if env is not None else algo
        if config.get("ckpt_path") == "last":
            if not tensorboard:
                raise LitIRLError("--ckpt_path last needs the default TensorBoard logger to find the run; give a checkpoint path instead")
            run_root = Path(logger.init_args.get("save_dir", "runs")) / logger.init_args.name
            candidates = sorted(run_root.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
            if not candidates:
                raise LitIRLError(f"--ckpt_path last: no {run_root}/*/checkpoints/last.ckpt; start without --ckpt_path or give a checkpoint path")
            # Runs of one algorithm and env share run_root whatever their settings (r(s) and r(s,a),
            # two learning rates): continue the newest run trained with this model config.
            ours = _model_settings(yaml.safe_load(self._parser(self.subcommand).dump(config, **_KEEP_NONE, skip_validation=True)))
            differences = {c: _differences(ours, _trained_with(c)) for c in candidates}
            matching = [c for c in candidates if not differences[c]]
            if not matching:
                newest = candidates[-1]
                raise LitIRLError(
                    f"--ckpt_path last: the runs in {run_root} were trained with other model settings (the newest, "
                    f"{newest.parent.parent.name}, differs in {', '.join(differences[newest][:5])}); start without "
                    "--ckpt_path, or give a checkpoint path to continue that run under this config"
                )
            config.ckpt_path = str(matching[-1])
            # Continue in the same run folder: same TensorBoard curves, same checkpoint folder.
            logger.init_args.version = matching[-1].parent.parent.name

    def _read_ckpt_path(self) -> tuple[str, dict[str, Any]] | None:
        """A --ckpt_path file, read and checked (exists, loads, is a run's checkpoint) before the trainer
        and its logger create anything: a wrong path leaves no run folder behind, and its error is the
        only line printed."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        path = config.get("ckpt_path")
        if not isinstance(path, str) or path in ("best", "last", "hpc") or path.startswith("registry"):
            return None  # Lightning's own names ("last" was resolved to a path in before_instantiate_classes)
        return path, AtomicCheckpointIO().load_checkpoint(path)

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> Any:
        checkpoint_io = ReadOnceCheckpointIO(self._read_ckpt_path())
        plugins = config.get("plugins") or []
        plugins = list(plugins) if isinstance(plugins, (list, tuple)) else [plugins]
        config["plugins"] = [*plugins, checkpoint_io]
        given = [*(config.get("callbacks") or []), *callbacks]
        if config.get("enable_progress_bar", True) is not False and not any(isinstance(c, LightningProgressBar) for c in given):
            callbacks = [*callbacks, ProgressBar()]
        self.run_files.watch(config.get("logger"))
        try:
            trainer = super()._instantiate_trainer(config, callbacks)
        except (MisconfigurationException, ValueError, TypeError, ImportError) as error:
            message = _trainer_flag_error(error, config)
            if message is None:
                raise
            raise LitIRLError(message) from error
        self.run_files.trainer = trainer
        launcher = trainer.strategy.launcher
        if launcher is not None and not isinstance(launcher, _SubprocessScriptLauncher):
            checkpoint_io.forget()  # spawned processes read the file themselves, rather than each get a copy
        trainer._signal_connector = AgreedSigterm(trainer)  # a SIGTERM under DDP leaves a checkpoint too
        if isinstance(trainer.strategy, DDPStrategy):
            # Each training_step runs several backward passes over disjoint networks (critic, actor,
            # alpha, reward): plain DDP stops at the second step on "parameters that were not used".
            # Set here, after Lightning resolved the strategy, so that "ddp", "auto" with several
            # devices and a DDPStrategy from a config all get it; an explicit False is kept.
            trainer.strategy._ddp_kwargs.setdefault("find_unused_parameters", True)
        return trainer


# Settings that may change when a run is continued or evaluated: they do not define what it learns.
CONTINUATION_SETTINGS = {"training": ("total_steps", "eval_episodes", "log_every"), "off_policy": ("resume_refill_steps",)}
# Written by lit_irl <= 0.1 at the top of init_args.
LEGACY_CONTINUATION_SETTINGS = ("total_env_steps", "eval_episodes", "log_every_env_steps")


def _model_settings(config: dict[str, Any] | None) -> dict[str, Any]:
    model = dict((config or {}).get("model") or {})
    init_args = {k: v for k, v in (model.get("init_args") or {}).items() if k not in LEGACY_CONTINUATION_SETTINGS}
    for group, keys in CONTINUATION_SETTINGS.items():
        if isinstance(init_args.get(group), dict):
            init_args[group] = {k: v for k, v in init_args[group].items() if k not in keys}
    # The run folder's name already holds the algorithm; its class path has several spellings
    # (lit_irl.algos.SAC, lit_irl.algos.sac.SAC).
    return {"algorithm": str(model.get("class_path", "")).rsplit(".", 1)[-1], **init_args}


def _trained_with(checkpoint: Path) -> dict[str, Any] | None:
    """The model settings in the run folder's config.yaml; None where the run kept none (or an unreadable one)."""
    try:
        saved = yaml.safe_load((checkpoint.parent.parent / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    return _model_settings(saved) if isinstance(saved, dict) and saved.get("model") else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return os.path.normpath(a) == os.path.normpath(b)  # ./zoo/x.hdf5 and zoo/x.hdf5
    return a == b


def _differences(ours: dict[str, Any], theirs: dict[str, Any] | None, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ. Unknown is no difference: a run without config.yaml, and a
    key only one side has (a setting added to lit_irl after the run was written)."""
    if theirs is None:
        return []
    found = []
    for key in sorted(set(ours) & set(theirs)):
        a, b = ours[key], theirs[key]
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{prefix}{key}.")
        elif not _same(a, b):
            found.append(f"{prefix}{key}")
    return found


class RunFolderConfig(SaveConfigCallback):
    """Saves the full config into the run folder: ``config.yaml`` for ``fit``, ``test_config.yaml``
    or ``validate_config.yaml`` otherwise, so that evaluating a run (``test --ckpt_path last`` logs
    into its folder) keeps the config it was trained with. A run without a logger (``test`` with
    ``--trainer.logger false``) has no run folder and writes nothing (not into the working directory)."""

    def setup(self, trainer, pl_module, stage: str) -> None:
        if trainer.logger is None:
            return
        stage = getattr(stage, "value", stage)  # Lightning passes a TrainerFn
        filename = "config.yaml" if stage == "fit" else f"{stage}_config.yaml"
        # Written beside and renamed: `--ckpt_path last` picks runs by their config.yaml, and a
        # truncated one would still parse, with settings missing.
        self.config_filename = f".{filename}.tmp"
        super().setup(trainer, pl_module, stage)
        written = Path(trainer.log_dir) / self.config_filename
        if trainer.is_global_zero and written.exists():
            os.replace(written, written.with_name(filename))


def main(args: list[str] | None = None) -> None:
    runtime.silence_known_warnings()
    run_files = RunFiles()
    try:
        LitIRLCLI(
            LightningModule,
            subclass_mode_model=True,
            trainer_defaults=TRAINER_DEFAULTS,
            seed_everything_default=False,  # seeding is the model's ``seed`` (identical init, per-rank collection)
            save_config_callback=RunFolderConfig,
            save_config_kwargs={"overwrite": True},
            args=args,
            run_files=run_files,
            parser_kwargs={"exit_on_error": False, "description": "lit_irl: inverse RL and imitation on PyTorch Lightning. Pick an algorithm with --model or a config from configs/."},
        )
    except SIGTERMException as stopped:
        saved = getattr(stopped, "lit_irl_saved", None)
        # Under DDP every rank stops at the same batch; one of them says so.
        say = print if (os.environ.get("RANK") or os.environ.get("LOCAL_RANK") or "0") == "0" else (lambda *a, **k: None)
        if saved and getattr(stopped, "lit_irl_finished", False):
            say(f"lit-irl: SIGTERM came after the last batch: training finished, {saved} holds it", file=sys.stderr)
            sys.exit(0)
        if saved:
            say(f"lit-irl: stopped by SIGTERM after the batch under way; {saved} holds it, continue with --ckpt_path {saved}", file=sys.stderr)
        else:
            say("lit-irl: stopped by SIGTERM; no checkpoint written now (test/validate: nothing was trained)", file=sys.stderr)
        sys.exit(128 + signal.SIGTERM)
    except (LitIRLError, ArgumentError, ValueError, TypeError) as error:
        if not isinstance(error, (LitIRLError, ArgumentError)) and not _is_config_error(error):
            raise
        run_files.remove()
        print(f"lit-irl: error: {_one_line(error, list(sys.argv[1:] if args is None else args))}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
