"""Keys and values of prompt tokens a local model has already computed, kept across generate() calls (automatic
prefix caching, as vLLM does it): a prompt that starts like an earlier one computes only the rest.

An interactive run sends every case's prompts again each turn, each starting with the same instructions, the same
case text and the conversation so far; on a CPU their prefill is most of the run's cost."""

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Tokens per stored block: a prompt reuses whole blocks only, so a smaller block recomputes fewer tokens where two
# prompts part; a prompt of 1,500 tokens then holds ~90 blocks, whose lookups cost well under a millisecond.
BLOCK_TOKENS = 16


class PrefixStore:
    """Blocks of keys and values, one tensor [layers, 2 (keys, values), kv heads, block, head dim] each, keyed by all
    the tokens up to the block's end, and evicted least recently used first once they hold more than `budget`
    tokens. A prompt's path is touched leaf first, so its last blocks go before the blocks others share."""

    def __init__(self, budget: int, block: int = BLOCK_TOKENS) -> None:
        self.budget = budget
        self.block = block
        self.blocks: OrderedDict[tuple[int, ...], torch.Tensor] = OrderedDict()
        self.peak_tokens = 0

    @property
    def tokens(self) -> int:
        return len(self.blocks) * self.block

    def match(self, ids: Sequence[int], limit: int) -> "list[torch.Tensor]":
        """Return the blocks of the longest stored prefix of `ids[:limit]`, in order."""
        keys = []
        for end in range(self.block, limit + 1, self.block):
            key = tuple(ids[:end])
            if key not in self.blocks:
                break
            keys.append(key)
        self._touch(keys)
        return [self.blocks[key] for key in keys]

    def add(self, ids: Sequence[int], kv: "torch.Tensor", first: int) -> None:
        """Store the whole blocks of `ids` from block number `first` on; `kv` holds every token's keys and values
        ([layers, 2, kv heads, tokens, head dim]). The caller holds the blocks before `first`."""
        keys = [tuple(ids[:end]) for end in range(self.block, len(ids) + 1, self.block)]
        for number, key in enumerate(keys[first:], start=first):
            if key not in self.blocks:
                self.blocks[key] = kv[:, :, :, number * self.block:(number + 1) * self.block].clone()
        self._touch(keys)
        self.peak_tokens = max(self.peak_tokens, self.tokens)
        while self.tokens > self.budget:
            self.blocks.popitem(last=False)

    def _touch(self, keys: list[tuple[int, ...]]) -> None:
        for key in reversed(keys):
            self.blocks.move_to_end(key)

    def clear(self) -> None:
        self.blocks.clear()
