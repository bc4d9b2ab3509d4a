"""Policy and reward-model fusion: a weighted element-wise average of same-architecture weights (method.md §4.3).

Works on the safetensors files tensor by tensor, so memory holds one output shard, never N models.
"""

import json
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import safe_open

# torch is imported where tensors are averaged: the platform imports this module in every process (the merge form
# checks architectures), and torch alone is ~400 MB there.
if TYPE_CHECKING:
    import torch

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
INDEX = "model.safetensors.index.json"
# config.json keys that name a copy rather than describe the architecture.
CONFIG_NOISE = {"_name_or_path", "transformers_version", "name_or_path", "dtype", "torch_dtype"}


class MergeError(ValueError):
    """Models that cannot be averaged; the message names the model and what differs."""


@dataclass(frozen=True)
class MergeSource:
    label: str  # a registered model's name, or the folder as given
    folder: Path


def shard_map(folder: Path) -> dict[str, str]:
    """Return {tensor name: shard file name} of a safetensors model folder."""
    index = folder / INDEX
    if index.is_file():
        return json.loads(index.read_text())["weight_map"]
    single = folder / "model.safetensors"
    if not single.is_file():
        raise MergeError(f"{folder} holds no safetensors weights (model.safetensors or {INDEX}).")
    with safe_open(single, "pt") as handle:
        return dict.fromkeys(handle.keys(), single.name)


def architecture(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise MergeError(f"{folder} has no config.json; give a model folder or a registered model's name.")
    config = json.loads(path.read_text())
    return {key: value for key, value in config.items() if key not in CONFIG_NOISE}


def tensor_shapes(folder: Path) -> dict[str, tuple[tuple, str]]:
    shapes = {}
    shards = shard_map(folder)
    for shard in sorted(set(shards.values())):
        with safe_open(folder / shard, "pt") as handle:
            for name in handle.keys():
                view = handle.get_slice(name)
                shapes[name] = (tuple(view.get_shape()), view.get_dtype())
    return shapes


def describe_difference(first: dict, other: dict) -> str:
    keys = sorted(k for k in set(first) | set(other) if first.get(k) != other.get(k))
    return ", ".join(f"{k} ({other.get(k)!r} vs {first.get(k)!r})" for k in keys[:5])


def check_same_architecture(sources: list[MergeSource]) -> None:
    """Raise MergeError unless every source has the first one's architecture, tensor names and shapes."""
    if len(sources) < 2:
        raise MergeError("Give at least two models to merge.")
    first, first_config = sources[0], architecture(sources[0].folder)
    first_shapes = tensor_shapes(first.folder)
    for source in sources[1:]:
        config = architecture(source.folder)
        if config != first_config:
            raise MergeError(f"Cannot merge models of different architectures: {source.label} differs from "
                             f"{first.label} in {describe_difference(first_config, config)}.")
        shapes = tensor_shapes(source.folder)
        if shapes != first_shapes:
            differing = sorted(k for k in set(shapes) | set(first_shapes) if shapes.get(k) != first_shapes.get(k))
            raise MergeError(f"Cannot merge {source.label} with {first.label}: their weights differ in "
                             f"{', '.join(differing[:5])}.")


def normalized(weights: list[float] | None, count: int) -> list[float]:
    """Return weights summing to 1 (equal weights 1/N, as the authors used, when none are given)."""
    if not weights:
        return [1.0 / count] * count
    if len(weights) != count:
        raise MergeError(f"Give one weight per model: {len(weights)} weights for {count} models.")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise MergeError("Weights must be zero or more, and not all zero.")
    total = sum(weights)
    return [w / total for w in weights]


def average_tensor(name: str, handles: list, weights: list[float]) -> "torch.Tensor":
    """Return the weighted mean of one tensor over the sources, accumulated in float64, in the first's dtype."""
    import torch

    tensors = [handle.get_tensor(name) for handle in handles]
    if not tensors[0].is_floating_point():  # integer buffers (position ids...) cannot be averaged: they must agree
        if not all(torch.equal(t, tensors[0]) for t in tensors[1:]):
            raise MergeError(f"The integer tensor {name} differs between the models.")
        return tensors[0]
    total = torch.zeros(tensors[0].shape, dtype=torch.float64)
    for tensor, weight in zip(tensors, weights, strict=True):
        total += tensor.to(torch.float64) * weight
    return total.to(tensors[0].dtype)


def copy_side_files(source: Path, target: Path) -> None:
    """Copy the first model's config, tokenizer and generation files (not its weights) into the merged folder."""
    for path in source.iterdir():
        if path.is_file() and not path.name.endswith(WEIGHT_SUFFIXES) and path.name != INDEX:
            shutil.copy2(path, target / path.name)


def merge_folders(sources: list[MergeSource], target: Path, weights: list[float] | None = None) -> list[float]:
    """Write the weighted average of the sources into `target` (shards laid out as the first's); return weights."""
    from safetensors.torch import save_file

    check_same_architecture(sources)
    weights = normalized(weights, len(sources))
    maps = [shard_map(source.folder) for source in sources]
    target.mkdir(parents=True, exist_ok=True)
    for shard in sorted(set(maps[0].values())):
        names = sorted(name for name, file in maps[0].items() if file == shard)
        with ExitStack() as stack:
            # Another source may shard differently: open, per source, the files that hold this shard's tensors.
            opened = [{file: stack.enter_context(safe_open(source.folder / file, "pt"))
                       for file in {shards[name] for name in names}} for source, shards in zip(sources, maps,
                                                                                               strict=True)]
            merged = {name: average_tensor(name, [files[shards[name]] for files, shards in zip(opened, maps,
                                                                                                strict=True)],
                                           weights) for name in names}
        save_file(merged, target / shard, metadata={"format": "pt"})
    if (sources[0].folder / INDEX).is_file():
        shutil.copy2(sources[0].folder / INDEX, target / INDEX)
    copy_side_files(sources[0].folder, target)
    return weights
