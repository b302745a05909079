"""What the ``lit-irl`` CLI needs to end a user error in one line and leave nothing behind.

- :class:`ReadOnceCheckpointIO`: a ``--ckpt_path`` read and checked before anything is created,
  then handed to Lightning's restore (the file is read once);
- :class:`RunFiles`: what a failed command created in its run folder, removed again;
- the messages: configuration errors from jsonargparse chains, Lightning's trainer flags, YAML
  syntax errors with file and line, a negative number written after a space.
"""

from __future__ import annotations

import argparse
import itertools
import inspect
import os
import re
import shutil
import traceback
from argparse import ArgumentError
from pathlib import Path
from typing import Any

import yaml
from lightning import Trainer
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from lit_irl.checkpoint_io import AtomicCheckpointIO
from lit_irl.errors import LitIRLError


class ReadOnceCheckpointIO(AtomicCheckpointIO):
    """Hands the checkpoint read up front (:meth:`LitIRLCLI._read_ckpt_path`) to the trainer's
    restore, so that a resumed run reads its (possibly large) checkpoint file once."""

    def __init__(self, read: tuple[str, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self._read = read

    def forget(self) -> None:
        self._read = None

    def load_checkpoint(self, path: str | Path, map_location: Any | None = None, weights_only: bool | None = None) -> dict[str, Any]:
        read, self._read = self._read, None  # handed over once, and not kept in memory after the restore
        if read is not None and map_location is None and os.path.realpath(path) == os.path.realpath(read[0]):
            return read[1]
        return super().load_checkpoint(path, map_location, weights_only)


class RunFiles:
    """What a command writes into its run folder, removed again when the command fails on a user
    error before its first batch and checkpoint: a failed start leaves no ``runs/<algo>-<env>/version_<n>/``.

    Only what this command created goes: a run folder that existed before (``--ckpt_path last``
    continuing a run, ``test`` logging into it) keeps everything it held, losing only the files
    this command added; a folder holding a checkpoint is never removed."""

    def __init__(self) -> None:
        self.trainer: Trainer | None = None
        self._logger: TensorBoardLogger | CSVLogger | None = None
        self._missing: list[Path] = []  # save_dir and the name folder, where absent before the command
        self._existing_run: Path | None = None
        self._before: set[Path] = set()

    def watch(self, logger: Any) -> None:
        """Note what exists before the trainer is built (reading only: an automatic version is not
        resolved here, as that would race with rank 0 under DDP)."""
        loggers = logger if isinstance(logger, (list, tuple)) else [logger]
        ours = [lg for lg in loggers if isinstance(lg, (TensorBoardLogger, CSVLogger))]
        if len(ours) != 1:
            return
        self._logger = ours[0]
        root = _local(self._logger.root_dir)
        save_dir = _local(self._logger.save_dir)
        self._missing = [p for p in (root, *root.parents) if p == save_dir or save_dir in p.parents]
        self._missing = [p for p in self._missing if not p.exists()]
        if self._logger._version is not None:  # an explicit version: its folder may exist already
            run = self._run_folder()
            if run is not None and run.exists():
                self._existing_run = run
                self._before = set(run.rglob("*"))

    def _run_folder(self) -> Path | None:
        """``<save_dir>/<name>/<version>`` (above a sub_dir)."""
        assert self._logger is not None
        root, log_dir = _local(self._logger.root_dir), _local(self._logger.log_dir)
        try:
            return root / log_dir.relative_to(root).parts[0]
        except (ValueError, IndexError):
            return None

    def remove(self) -> None:
        trainer, logger = self.trainer, self._logger
        if trainer is None or logger is None or not trainer.is_global_zero:
            return  # failed before the trainer existed (nothing written), or not the rank that writes
        saved = any(c.last_model_path or c.best_k_models for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint))
        loops = (trainer.fit_loop.epoch_loop, trainer.validate_loop, trainer.test_loop)
        if saved or any(loop.batch_progress.total.ready for loop in loops):
            return  # it ran (or resumed) batches: its curves and files may tell what went wrong
        experiment = getattr(logger, "_experiment", None)
        if experiment is not None and hasattr(experiment, "close"):
            experiment.close()  # no event writer left to recreate the file
        run = self._run_folder() if logger._version is not None else None
        if run is not None and run == self._existing_run:
            for path in sorted(set(run.rglob("*")) - self._before, key=lambda p: len(p.parts), reverse=True):
                if path.is_dir():
                    _rmdir(path)
                elif path.suffix != ".ckpt":
                    path.unlink(missing_ok=True)
        elif run is not None and run.is_dir() and not any(run.rglob("*.ckpt")):
            shutil.rmtree(run, ignore_errors=True)
        for folder in self._missing:  # innermost first; only where empty (another run may have started there)
            _rmdir(folder)


def _local(path: str | Path) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.path.expandvars(str(path)))))


def _rmdir(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


# Trainer flags, longest first (a message naming `max_epochs` also holds `epochs`-like shorter names).
_TRAINER_FLAGS = sorted((n for n in inspect.signature(Trainer.__init__).parameters if n != "self"), key=len, reverse=True)


def _trainer_flag_error(error: BaseException, config: dict[str, Any]) -> str | None:
    """One line naming the --trainer flag Lightning refused while building the Trainer, and its fix;
    None for anything else (a bug keeps its traceback). Lightning checks accelerator, devices,
    strategy and num_nodes in its accelerator connector (several exception types), and raises
    MisconfigurationException for other flags."""
    through_connector = any(f.filename.endswith(os.path.join("connectors", "accelerator_connector.py")) for f in traceback.extract_tb(error.__traceback__))
    if not through_connector and not isinstance(error, MisconfigurationException):
        return None
    text = " ".join(str(error).split())
    accelerator = config.get("accelerator")
    accelerator = accelerator if isinstance(accelerator, str) else type(accelerator).__name__
    if "No supported gpu backend" in text or ("can not run on your system" in text and accelerator in ("gpu", "cuda")):
        return f"--trainer.accelerator {accelerator}: no GPU on this machine; use --trainer.accelerator cpu"
    if "can not run on your system" in text:
        return f"--trainer.accelerator {accelerator} is not available on this machine; use --trainer.accelerator cpu"
    if "invalid accelerator name" in text:
        names = re.search(r"Available names are: ([^.]+)", text)
        return f"--trainer.accelerator {accelerator} is unknown; use one of {names.group(1) if names else 'auto, cpu, cuda, mps, tpu'} (or gpu)"
    if isinstance(error, ImportError):
        required = re.search(r"Requirement '([^']+)' not met", text)
        package = required.group(1) if required else (error.name if isinstance(error, ModuleNotFoundError) and error.name else text)
        flag = f"--trainer.accelerator {accelerator}" if accelerator in ("tpu", "xla") else f"--trainer.strategy {config.get('strategy')}"
        return f"{flag} needs {package}, which is not installed; install it or use --trainer.accelerator cpu"
    if "devices" in text and ("not a valid input" in text or "`devices`" in text):
        return f"--trainer.devices must be a positive number of devices or 'auto', got {config.get('devices')!r}; e.g. --trainer.devices 1 (a list of device indices needs a GPU)"
    if "invalid strategy name" in text:
        choices = re.search(r"Example choices: (.*?)\.\.\.", text)
        return f"--trainer.strategy {config.get('strategy')} is unknown; use one of {choices.group(1).strip(' ,') if choices else 'ddp, ddp_spawn'}"
    if "num_nodes" in text:
        return f"--trainer.num_nodes must be a positive integer, got {config.get('num_nodes')!r}; use --trainer.num_nodes 1 on one machine"
    flags = ["max_time"] if "Timer(duration" in text else [name for name in _TRAINER_FLAGS if re.search(rf"\b{name}\b", text)]
    flags += [name for name in ("strategy", "accelerator") if name.capitalize() in text]  # `DeepSpeedStrategy`
    flag = f"--trainer.{flags[0]}" if flags else "a --trainer setting"
    return f"{flag} was refused by Lightning: {text.rstrip('.')}; fix it (see `lit-irl fit --help`)"


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


def _one_line(error: BaseException, argv: list[str] | tuple[str, ...] = ()) -> str:
    """The message a user needs from a (possibly deeply chained) configuration error."""
    chain = _chain(error)
    for link in chain:
        if isinstance(link, LitIRLError):
            return str(link)
    for link in chain:
        if isinstance(link, yaml.MarkedYAMLError):
            return _yaml_error(link, argv)
    if any(isinstance(link, ArgumentError) and "expected one argument" in str(link) for link in chain):
        negative = _negative_after_space(argv)
        if negative:
            return negative
    key = re.search(r'Parser key "([^"]+)"', str(chain[0]))
    innermost = str(chain[-1]).strip().splitlines()[0]
    where = f"{key.group(1)}: " if key else ""
    return f"{where}{innermost} (check the spelling against `lit-irl fit --help` and `lit-irl fit --model.help <Algo>`)"


def _yaml_error(error: yaml.MarkedYAMLError, argv: list[str] | tuple[str, ...]) -> str:
    """Which --config file has the YAML syntax error, and where (jsonargparse parses the text and
    loses the file name)."""
    configs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"] + [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
    for name in configs:
        try:
            yaml.safe_load(Path(name).read_text())
        except yaml.MarkedYAMLError as found:
            error, where = found, name
            break
        except (OSError, yaml.YAMLError):
            continue
    else:
        where = "a value on the command line (or a file it names)"
    mark = error.problem_mark or error.context_mark
    at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context = ""
    if error.context:
        started = f" started at line {error.context_mark.line + 1}, column {error.context_mark.column + 1}" if error.context_mark is not None else ""
        context = f" ({error.context}{started})"
    return f"{where}{at}: YAML syntax error: {error.problem or 'invalid YAML'}{context}; fix the YAML there (a bracket or quote left open, a missing ':' or bad indentation)"


def _negative_after_space(argv: list[str] | tuple[str, ...]) -> str | None:
    """argparse reads ``--x -1e-3`` as two options: say how to write a negative number."""
    plain_negative = getattr(argparse.ArgumentParser(), "_negative_number_matcher", re.compile(r"^-\d+$|^-\d*\.\d+$"))
    for option, value in itertools.pairwise(argv):
        if not option.startswith("--") or "=" in option or not value.startswith("-") or plain_negative.match(value):
            continue
        try:
            float(value)
        except ValueError:
            continue
        return f"{option} {value}: a negative number after a space is read as an option; write {option}={value}"
    return None
