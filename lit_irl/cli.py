"""``lit-irl``: LightningCLI for every algorithm (``fit``, ``validate``, ``test``).

    lit-irl fit --config configs/sac/hopper.yaml
    lit-irl fit --config configs/sac/hopper.yaml --ckpt_path last      # continue the latest run (also after SIGTERM)
    lit-irl test --config configs/sac/hopper.yaml --ckpt_path runs/sac-Hopper-v5/version_0/checkpoints/last.ckpt

Runs are written to ``runs/<algo>-<env>/version_<n>/`` (TensorBoard events, ``config.yaml``,
``checkpoints/``). Whatever DDP strategy Lightning resolves (``--trainer.strategy ddp``, or
``auto`` with several devices) gets ``find_unused_parameters`` because manual-optimization
algorithms make several backward passes per step, each touching one network (plain DDP would fail
at the second step).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from argparse import ArgumentError
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace
from lightning import LightningModule
from lightning.pytorch.callbacks import ProgressBar as LightningProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.utilities.exceptions import SIGTERMException

import lit_irl.algos  # noqa: F401  (makes ``--model SAC`` resolvable by its short name)
from lit_irl.callbacks import Evaluation, ProgressBar, ProgressCheckpoint
from lit_irl.checkpoint_io import AtomicCheckpointIO
from lit_irl import runtime
from lit_irl.errors import LitIRLError

TRAINER_DEFAULTS: dict[str, Any] = {
    "logger": {"class_path": "lightning.pytorch.loggers.TensorBoardLogger", "init_args": {"save_dir": "runs"}},
    "max_epochs": -1,
    "num_sanity_val_steps": 0,
    "enable_model_summary": False,
    "log_every_n_steps": 1,
    "accelerator": "cpu",
}


class LitIRLCLI(LightningCLI):
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
            ours = _model_settings(yaml.safe_load(self._parser(self.subcommand).dump(config, skip_none=False, skip_validation=True)))
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

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> Any:
        plugins = config.get("plugins") or []
        plugins = list(plugins) if isinstance(plugins, (list, tuple)) else [plugins]
        config["plugins"] = [*plugins, AtomicCheckpointIO()]
        given = [*(config.get("callbacks") or []), *callbacks]
        if config.get("enable_progress_bar", True) is not False and not any(isinstance(c, LightningProgressBar) for c in given):
            callbacks = [*callbacks, ProgressBar()]
        trainer = super()._instantiate_trainer(config, callbacks)
        if isinstance(trainer.strategy, DDPStrategy):
            # Each training_step runs several backward passes over disjoint networks (critic, actor,
            # alpha, reward): plain DDP stops at the second step on "parameters that were not used".
            # Set here, after Lightning resolved the strategy, so that "ddp", "auto" with several
            # devices and a DDPStrategy from a config all get it; an explicit False is kept.
            trainer.strategy._ddp_kwargs.setdefault("find_unused_parameters", True)
        return trainer


# Settings that may change when a run is continued or evaluated: they do not define what it learns.
CONTINUATION_SETTINGS = {"training": ("total_steps", "eval_episodes", "log_every")}
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


def _chain(error: BaseException | None) -> list[BaseException]:
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _is_config_error(error: BaseException) -> bool:
    """jsonargparse reports bad values as ValueError/TypeError chains raised while parsing and
    instantiating; anything else (a real bug) keeps its traceback."""
    return any(isinstance(e, (LitIRLError, ArgumentError)) or "Does not validate against" in str(e) for e in _chain(error))


def _one_line(error: BaseException) -> str:
    """The message a user needs from a (possibly deeply chained) configuration error."""
    chain = _chain(error)
    for link in chain:
        if isinstance(link, LitIRLError):
            return str(link)
    key = re.search(r'Parser key "([^"]+)"', str(chain[0]))
    innermost = str(chain[-1]).strip().splitlines()[0]
    where = f"{key.group(1)}: " if key else ""
    return f"{where}{innermost} (check the spelling against `lit-irl fit --help` and `lit-irl fit --model.help <Algo>`)"


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
    try:
        LitIRLCLI(
            LightningModule,
            subclass_mode_model=True,
            trainer_defaults=TRAINER_DEFAULTS,
            seed_everything_default=False,  # seeding is the model's ``seed`` (identical init, per-rank collection)
            save_config_callback=RunFolderConfig,
            save_config_kwargs={"overwrite": True},
            args=args,
            parser_kwargs={"exit_on_error": False, "description": "lit_irl: inverse RL and imitation on PyTorch Lightning. Pick an algorithm with --model or a config from configs/."},
        )
    except SIGTERMException as stopped:
        saved = getattr(stopped, "lit_irl_saved", None)
        if saved and getattr(stopped, "lit_irl_finished", False):
            print(f"lit-irl: SIGTERM came after the last batch: training finished, {saved} holds it", file=sys.stderr)
            sys.exit(0)
        if saved:
            print(f"lit-irl: stopped by SIGTERM after the batch under way; {saved} holds it, continue with --ckpt_path {saved}", file=sys.stderr)
        else:
            print("lit-irl: stopped by SIGTERM; no checkpoint written now (test/validate, or DDP: the last periodic one stands)", file=sys.stderr)
        sys.exit(128 + signal.SIGTERM)
    except (LitIRLError, ArgumentError, ValueError, TypeError) as error:
        if not isinstance(error, (LitIRLError, ArgumentError)) and not _is_config_error(error):
            raise
        print(f"lit-irl: error: {_one_line(error)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
