"""Demonstrations of the synthetic language: drawn from the exact expert with a run's seed, or read from a
JSON-lines file (one ``{"prompt": [token ids], "response": [token ids]}`` per line) that
:func:`save_demonstrations` writes, so that every learner of a comparison reads the same demonstrations.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lit_irl.data.collect import derive_seed
from lit_irl.errors import LitIRLError
from lit_irl.files import write_text_atomic
from lit_irl.sequence.world import SyntheticWorld


def save_demonstrations(path: str | Path, prompts: torch.Tensor, responses: torch.Tensor) -> None:
    """Write ``(prompts, responses)`` as JSON lines, atomically."""
    lines = [json.dumps({"prompt": p.tolist(), "response": r.tolist()}) for p, r in zip(prompts, responses)]
    write_text_atomic(Path(path), "\n".join(lines) + "\n")


def load_demonstrations(path: str | Path, world: SyntheticWorld) -> tuple[torch.Tensor, torch.Tensor]:
    """``(prompts, responses)`` of a JSON-lines file, checked against ``world`` (lengths, vocabulary)."""
    path = Path(path)
    if not path.is_file():
        raise LitIRLError(f"demonstrations {path}: file does not exist; write one with lit_irl.sequence.save_demonstrations")
    prompts, responses = [], []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            prompts.append(torch.tensor(record["prompt"], dtype=torch.long))
            responses.append(torch.tensor(record["response"], dtype=torch.long))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise LitIRLError(f"demonstrations {path}, line {number}: expected {{\"prompt\": [token ids], \"response\": [token ids]}} ({error})") from None
    if not prompts:
        raise LitIRLError(f"demonstrations {path} hold no demonstration; write one per line as {{\"prompt\": [...], \"response\": [...]}}")
    c = world.config
    for name, rows, length in (("prompt", prompts, c.prompt_length), ("response", responses, c.horizon)):
        bad = next((i for i, row in enumerate(rows) if row.dim() != 1 or row.numel() != length), None)
        if bad is not None:
            raise LitIRLError(f"demonstrations {path}: the {name} of demonstration {bad + 1} has {rows[bad].numel()} tokens; this world's have {length}")
    prompts_, responses_ = torch.stack(prompts), torch.stack(responses)
    try:
        world.check_tokens(prompts_, responses_)
    except LitIRLError as error:
        raise LitIRLError(f"demonstrations {path}: {error}") from None
    return prompts_, responses_


def expert_demonstrations(world: SyntheticWorld, count: int, seed: int, path: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The demonstrations of a run: the file at ``path``, else ``count`` exact expert samples drawn with
    ``seed`` (the same for every learner of a seed: SFT, IRL, SPIN, AIHF see the same ones)."""
    if path is not None:
        return load_demonstrations(path, world)
    generator = torch.Generator().manual_seed(derive_seed(seed, 97))
    prompts = world.sample_prompts(count, generator)
    return prompts, world.sample_responses(prompts, generator)
