"""Local Hugging Face models: chat templates, left-padded batched generate(), CPU or GPU."""

import functools
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from itertools import groupby
from typing import TYPE_CHECKING, Any, cast

from ..configs import SamplingConfig
from .base import BackendError, EndpointSettings, GenerationBackend, GenerationRequest, GenerationResult
from .prefix_store import PrefixStore

if TYPE_CHECKING:
    import torch
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase
    from transformers.cache_utils import Cache, DynamicLayer

logger = logging.getLogger(__name__)

# Share a prefix when it covers at least this share of the shortest prompt and this many tokens.
PREFIX_SHARE = 0.5
MIN_SHARED_TOKENS = 32
# Prompt tokens whose keys and values a CPU backend keeps across calls (46 kB a token for SmolLM2-135M in float32,
# so 6 GB at most): a turn of 50 interactive cases stores ~90,000 prompt tokens, and a store smaller than one
# turn's prompts evicts each case's prefix (least recently used) just before its next turn would read it.
DEFAULT_PREFIX_CACHE_TOKENS = 131072
GROUPED_SDPA = "grouped_query_sdpa"
FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def shared_prefix(ids: Mapping[int, list[int]], indices: Iterable[int]) -> int:
    """Return the length of the token prefix all the given prompts share (at most the shortest minus one)."""
    rows = [ids[i] for i in indices]
    limit = min(len(row) for row in rows) - 1  # keep a token to feed, so generate() starts from real input
    length = 0
    while length < limit and all(row[length] == rows[0][length] for row in rows):
        length += 1
    return length


def batch_cost(ids: Mapping[int, list[int]], group: list[int]) -> int:
    """Tokens a batch computes for prompts sharing their common prefix: the prefix once, each suffix padded."""
    prefix = shared_prefix(ids, group)
    return prefix + len(group) * max(len(ids[i]) - prefix for i in group)


def split_group(ids: Mapping[int, list[int]], group: list[int]) -> list[list[int]]:
    """Split a sorted group where neighbours share least, while that computes fewer tokens: a question's enhance
    prompts also share the hindsight outcome that its corrupt prompts lack."""
    if len(group) < 4:
        return [group]
    cut = min(range(2, len(group) - 1), key=lambda k: shared_prefix(ids, [group[k - 1], group[k]]))
    left, right = group[:cut], group[cut:]
    if batch_cost(ids, left) + batch_cost(ids, right) >= batch_cost(ids, group):
        return [group]
    return split_group(ids, left) + split_group(ids, right)


def grouped_query_sdpa(module: "torch.nn.Module", query: "torch.Tensor", key: "torch.Tensor", value: "torch.Tensor",
                       attention_mask: "torch.Tensor | None", dropout: float = 0.0, scaling: float | None = None,
                       is_causal: bool | None = None, **_kwargs: Any) -> tuple["torch.Tensor", None]:
    """PyTorch's SDPA with the key/value heads left grouped (`enable_gqa`). transformers repeats them to the query
    heads whenever a padding mask is present; on a CPU that copy costs ten times the attention itself in batched
    decoding (31 ms against 2 ms per layer at 24 rows x 620 tokens)."""
    import torch

    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    output = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling,
        is_causal=bool(causal and attention_mask is None and query.shape[2] > 1),
        enable_gqa=key.shape[1] != query.shape[1])
    return output.transpose(1, 2).contiguous(), None


def use_grouped_query_sdpa(model: "PreTrainedModel") -> None:
    """Switch a CPU model to `grouped_query_sdpa` (on CUDA, a masked GQA call would leave the fused kernels)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(GROUPED_SDPA, grouped_query_sdpa)
    AttentionMaskInterface.register(GROUPED_SDPA, sdpa_mask)
    if model.config._attn_implementation in ("sdpa", GROUPED_SDPA):
        model.set_attn_implementation(GROUPED_SDPA)


@functools.cache
def growing_layer_class() -> type["DynamicLayer"]:
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """A DynamicLayer that keeps spare room and writes new keys and values in place. DynamicLayer concatenates
        the whole cache at every step: a third of a CPU decoding step at 12 rows x 700 tokens."""

        keys: "torch.Tensor"
        values: "torch.Tensor"
        buffers: "tuple[torch.Tensor, torch.Tensor] | None" = None

        def update(self, key_states: "torch.Tensor", value_states: "torch.Tensor", *args: Any,
                   **kwargs: Any) -> tuple["torch.Tensor", "torch.Tensor"]:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            length = self.get_seq_length()
            needed = length + key_states.shape[-2]
            if (self.buffers is None or self.buffers[0].shape[-2] < needed
                    or self.buffers[0].shape[0] != key_states.shape[0]
                    or (length and self.keys.data_ptr() != self.buffers[0].data_ptr())):
                self._reallocate(key_states, value_states, length, needed + max(64, needed // 2))
            assert self.buffers is not None  # _reallocate() set them
            keys, values = self.buffers
            keys[:, :, length:needed] = key_states
            values[:, :, length:needed] = value_states
            self.keys, self.values = keys[:, :, :needed], values[:, :, :needed]
            return self.keys, self.values

        def _reallocate(self, key_states: "torch.Tensor", value_states: "torch.Tensor", length: int,
                        capacity: int) -> None:
            keys = key_states.new_empty((*key_states.shape[:2], capacity, key_states.shape[-1]))
            values = value_states.new_empty((*value_states.shape[:2], capacity, value_states.shape[-1]))
            if length:  # after batch_select_indices, or when the room ran out
                keys[:, :, :length] = self.keys
                values[:, :, :length] = self.values
            self.buffers = (keys, values)

    return GrowingLayer


def default_prefix_cache_tokens(device: str) -> int:
    """The prefix store's budget when the caller sets none: ALFA_PREFIX_CACHE_TOKENS (0 turns it off), else
    DEFAULT_PREFIX_CACHE_TOKENS on a CPU and none on a GPU (whose batched prefill the row-by-row path would lose)."""
    configured = os.environ.get("ALFA_PREFIX_CACHE_TOKENS", "").strip()
    if configured:
        return max(0, int(configured))
    return DEFAULT_PREFIX_CACHE_TOKENS if device == "cpu" else 0


def full_attention(config: "PretrainedConfig") -> bool:
    """Whether every layer attends to the whole context (no sliding window): its keys and values can grow in place
    and be reused for any later prompt with the same start."""
    kinds = set(getattr(config, "layer_types", None) or ["full_attention"])
    return not getattr(config, "sliding_window", None) and kinds == {"full_attention"}


def new_cache(config: "PretrainedConfig") -> "Cache":
    """A cache that grows in place, for models whose every layer attends to the whole context."""
    from transformers.cache_utils import Cache, DynamicCache

    if not full_attention(config):
        return DynamicCache(config=config)
    return Cache(layer_class_to_replicate=growing_layer_class())


def batch_cache(kvs: "list[torch.Tensor]", width: int) -> "Cache":
    """A left-padded batch cache from each row's keys and values ([layers, 2, kv heads, tokens, head dim]), with
    room to grow while decoding. The padding columns are zeros, which the attention mask hides (uninitialised
    memory could hold NaN, and a masked NaN still spoils the weighted sum)."""
    from transformers.cache_utils import Cache

    layers, _, heads, _, dim = kvs[0].shape
    capacity = width + max(64, width // 2)
    cache_layers = []
    for layer in range(layers):
        keys = kvs[0].new_empty((len(kvs), heads, capacity, dim))
        values = kvs[0].new_empty((len(kvs), heads, capacity, dim))
        for row, kv in enumerate(kvs):
            pad = width - kv.shape[3]
            keys[row, :, :pad] = 0
            values[row, :, :pad] = 0
            keys[row, :, pad:width] = kv[layer, 0]
            values[row, :, pad:width] = kv[layer, 1]
        grown = growing_layer_class()()
        grown.lazy_initialization(keys, values)
        grown.buffers = (keys, values)
        grown.keys, grown.values = keys[:, :, :width], values[:, :, :width]
        cache_layers.append(grown)
    return Cache(layers=cache_layers)


def resolve_device(device: str) -> str:
    import torch

    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class TransformersBackend(GenerationBackend):
    """Batches requests that share sampling settings, sorted by length so padding stays small.

    With a prefix store (`prefix_cache_tokens`; by default on a CPU, for models of full attention only), each
    prompt computes only the tokens after its longest stored prefix, one row at a time and unpadded (a padded
    prefill costs more than one by one on a CPU), then the batch decodes together from a left-padded cache. On a
    GPU the default is off: there a batched prefill of whole prompts is cheap, and row by row would serialise it."""

    name = "transformers"

    def __init__(self, settings: EndpointSettings, model: "PreTrainedModel | None" = None,
                 tokenizer: "PreTrainedTokenizerBase | None" = None, prefix_cache_tokens: int | None = None) -> None:
        super().__init__(settings)
        self.device = resolve_device(settings.device)
        if model is None:
            model, tokenizer = self._load(settings.model)
        # Any: the packages are not type-checked here, and close() drops the model
        self.model: Any = model
        self.tokenizer: Any = tokenizer
        if self.device == "cpu":
            use_grouped_query_sdpa(self.model)
        self._prepare_tokenizer()
        if prefix_cache_tokens is None:
            prefix_cache_tokens = default_prefix_cache_tokens(self.device)
        self.prefix_store = (PrefixStore(prefix_cache_tokens)
                             if prefix_cache_tokens > 0 and full_attention(self.model.config) else None)
        # Prompt tokens the prefix-store path ran through the model, and those it took from the store instead
        self.prompt_tokens_computed = 0
        self.prompt_tokens_reused = 0

    def _load(self, path: str) -> tuple["PreTrainedModel", "PreTrainedTokenizerBase"]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise BackendError(f"Cannot load a model from {path!r}: {exc}") from exc
        return model.to(self.device).eval(), tokenizer

    def _prepare_tokenizer(self) -> None:
        tok = self.tokenizer
        tok.padding_side = "left"  # decoder-only models continue from the right edge
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        if not tok.chat_template:
            tok.chat_template = FALLBACK_TEMPLATE
        eos = self.model.generation_config.eos_token_id
        eos = eos if eos is not None else tok.eos_token_id
        self.eos_ids = set(eos) if isinstance(eos, list) else {eos}

    def render(self, request: GenerationRequest) -> str:
        text = self.tokenizer.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True)
        return text + request.prefill

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        results: list[GenerationResult | None] = [None] * len(requests)
        # Batch by sampling settings other than the seed: each row samples from its own generator, seeded by its
        # request, so its text does not depend on which requests share its batch.
        key = lambda i: repr(replace(requests[i].sampling, seed=None))  # noqa: E731
        order = sorted(range(len(requests)), key=key)
        for _sampling, group in groupby(order, key=key):
            indices = list(group)
            ids = {i: self.tokenizer(self.render(requests[i]), add_special_tokens=False)["input_ids"] for i in indices}
            plan = self.plan_batches(indices, ids) if self.prefix_store is None else self.length_batches(indices, ids)
            for chunk, prefixes in plan:
                outputs = self._generate_chunk([ids[i] for i in chunk], [requests[i].sampling for i in chunk],
                                               prefixes)
                for i, result in zip(chunk, outputs, strict=True):
                    results[i] = result
        return cast("list[GenerationResult]", results)  # every index is in one group

    def length_batches(self, indices: list[int],
                       ids: Mapping[int, list[int]]) -> list[tuple[list[int], list[int]]]:
        """Batches for the prefix-store path, by length: a row's stored prefix is found row by row, and decoding
        pads every row to the batch's longest."""
        size = max(1, self.settings.batch_size)
        ordered = sorted(indices, key=lambda i: len(ids[i]))
        return [(ordered[start:start + size], [0] * len(ordered[start:start + size]))
                for start in range(0, len(ordered), size)]

    def plan_batches(self, indices: list[int], ids: Mapping[int, list[int]]) -> list[tuple[list[int], list[int]]]:
        """Return [(indices, prefix length per row)]. Prompts sharing a long prefix (one question's rewrites) form a
        group whose prefix is computed once; a batch packs whole groups (several questions) up to the batch size.
        Prompts in no group batch by length with plain left padding (prefix 0)."""
        size = max(1, self.settings.batch_size)
        groups: list[tuple[list[int], int]] = []
        loose: list[int] = []
        ordered = sorted(indices, key=lambda i: ids[i])  # prompts with a common prefix become neighbours
        while ordered:
            cluster = [ordered.pop(0)]
            while ordered and len(cluster) < size and shared_prefix(ids, [*cluster, ordered[0]]) >= (
                    PREFIX_SHARE * min(len(ids[i]) for i in [*cluster, ordered[0]])):
                cluster.append(ordered.pop(0))
            prefix = shared_prefix(ids, cluster)
            if len(cluster) >= 2 and prefix >= MIN_SHARED_TOKENS and self.settings.share_prefix:
                groups += [(group, shared_prefix(ids, group)) for group in split_group(ids, cluster)]
            else:
                loose.extend(cluster)
        batches: list[tuple[list[int], list[int]]] = []
        # Pack groups of like length together: a batch pads every group's prefix and every suffix to its longest,
        # and the padded columns cost as much as real ones (one interactive turn's prompts run 300-1,500 tokens).
        groups.sort(key=lambda group: (max(len(ids[i]) for i in group[0]), group[1]))
        for cluster, prefix in groups:
            if batches and len(batches[-1][0]) + len(cluster) <= size:
                batches[-1][0].extend(cluster)
                batches[-1][1].extend([prefix] * len(cluster))
            else:
                batches.append((list(cluster), [prefix] * len(cluster)))
        loose.sort(key=lambda i: len(ids[i]))
        batches += [(loose[start:start + size], [0] * len(loose[start:start + size]))
                    for start in range(0, len(loose), size)]
        return batches

    def _generate_chunk(self, rows: list[list[int]], samplings: list[SamplingConfig],
                        prefixes: list[int]) -> list[GenerationResult]:
        """Generate for token rows whose sampling differs at most in the seed; a failure is reported on every item,
        never raised."""
        import torch

        try:
            return self._run(rows, samplings, prefixes)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            if len(rows) == 1:
                return [GenerationResult(error="CUDA out of memory for a single prompt.")]
            half = len(rows) // 2  # halve the batch and try again, rather than failing it
            return (self._generate_chunk(rows[:half], samplings[:half], prefixes[:half])
                    + self._generate_chunk(rows[half:], samplings[half:], prefixes[half:]))
        except Exception as exc:
            logger.exception("generation failed for a batch of %d", len(rows))
            return [GenerationResult(error=f"{type(exc).__name__}: {exc}") for _ in rows]

    def _inputs(self, rows: list[list[int]],
                prefixes: list[int]) -> tuple["torch.Tensor", "torch.Tensor", "Cache"]:
        """Return input ids, attention mask and a cache. With no prefixes this is plain left padding. Otherwise each
        row is laid out [common][padding][rest of its group's prefix][padding][suffix]: the text every row shares is
        computed once, then each group's own prefix once, and those keys and values are copied to the group's rows."""
        import torch

        pad = self.tokenizer.pad_token_id
        common = shared_prefix(dict(enumerate(rows)), range(len(rows))) if all(prefixes) else 0
        common = min([common, *prefixes])
        group_width = max(prefixes) - common
        suffix_width = max(len(row) - prefix for row, prefix in zip(rows, prefixes, strict=True))
        ids, mask = [], []
        for row, prefix in zip(rows, prefixes, strict=True):
            left, middle = group_width - prefix + common, suffix_width - len(row) + prefix
            ids.append(row[:common] + [pad] * left + row[common:prefix] + [pad] * middle + row[prefix:])
            mask.append([1] * common + [0] * left + [1] * (prefix - common) + [0] * middle + [1] * (len(row) - prefix))
        ids = torch.tensor(ids, device=self.device)
        mask = torch.tensor(mask, device=self.device)
        if not max(prefixes):
            return ids, mask, new_cache(self.model.config)
        return ids, mask, self._prefix_cache(rows, prefixes, ids, mask, common, common + group_width)

    def _prefix_cache(self, rows: list[list[int]], prefixes: list[int], ids: "torch.Tensor", mask: "torch.Tensor",
                      common: int, width: int) -> "Cache":
        """Compute the shared columns once ([common]), then one row per group ([padding][rest of its prefix])."""
        import torch

        if not all(prefixes):
            raise ValueError("A batch either shares prefixes on every row or on none.")
        keys = [(prefix, tuple(row[:prefix])) for row, prefix in zip(rows, prefixes, strict=True)]
        groups = list(dict.fromkeys(keys))
        first_rows = torch.tensor([keys.index(group) for group in groups], device=self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = new_cache(self.model.config)
        if common:
            self.model(input_ids=ids[:1, :common], past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache.batch_select_indices(torch.zeros(len(groups), dtype=torch.long, device=self.device))
        if width > common:
            self.model(input_ids=ids[first_rows, common:width], attention_mask=mask[first_rows, :width],
                       position_ids=positions[first_rows, common:width], past_key_values=cache, use_cache=True,
                       logits_to_keep=1)
        cache.batch_select_indices(torch.tensor([groups.index(key) for key in keys], device=self.device))
        return cache

    def _prefill_stored(self, rows: list[list[int]]) -> tuple["torch.Tensor", "torch.Tensor", "Cache"]:
        """Return the last logits, the attention mask and a left-padded cache of the batch, each row computed alone
        after its longest stored prefix."""
        import torch

        kvs, logits = [], []
        for row in rows:
            kv, last = self._prefill_row(row)
            kvs.append(kv)
            logits.append(last)
        width = max(len(row) for row in rows)
        mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows], device=self.device)
        return torch.cat(logits), mask, batch_cache(kvs, width)

    def _prefill_row(self, row: list[int]) -> tuple["torch.Tensor", "torch.Tensor"]:
        """Compute one prompt after its longest stored prefix (at least its last token, for the logits); store its
        new whole blocks. Return its keys and values ([layers, 2, kv heads, tokens, head dim]) and last logits."""
        import torch

        store = cast("PrefixStore", self.prefix_store)
        blocks = store.match(row, len(row) - 1)
        start = len(blocks) * store.block
        cache = new_cache(self.model.config)
        if blocks:
            past = torch.cat(blocks, dim=3)
            for layer, (keys, values) in enumerate(past):
                cache.update(keys[None], values[None], layer)
        logits = self.model(input_ids=torch.tensor([row[start:]], device=self.device),
                            position_ids=torch.arange(start, len(row), device=self.device)[None],
                            past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
        kv = torch.stack([torch.stack([layer.keys[0], layer.values[0]]) for layer in cache.layers])
        store.add(row, kv, len(blocks))
        self.prompt_tokens_computed += len(row) - start
        self.prompt_tokens_reused += start
        return kv, logits

    def _run(self, rows: list[list[int]], samplings: list[SamplingConfig],
             prefixes: list[int]) -> list[GenerationResult]:
        """Prefill, then decode the batch together; see _decode."""
        import torch

        started = time.perf_counter()
        with torch.inference_mode():
            if self.prefix_store is not None:
                logits, mask, cache = self._prefill_stored(rows)
            else:
                ids, mask, cache = self._inputs(rows, prefixes)
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                past = cache.get_seq_length()
                logits = self.model(input_ids=ids[:, past:], attention_mask=mask, position_ids=positions[:, past:],
                                    past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
            generated = self._decode(logits, mask, cache, samplings)
        elapsed = time.perf_counter() - started
        return [self._result(tokens, len(row), elapsed) for tokens, row in zip(generated, rows, strict=True)]

    def _decode(self, logits: "torch.Tensor", mask: "torch.Tensor", cache: "Cache",
                samplings: list[SamplingConfig]) -> list[list[int]]:
        """Decode one token per step for the rows still generating: rows that reached their end of sequence leave
        the batch (and its cache) once they are a quarter of it, rather than being computed until the longest row
        ends as generate() does. Each row samples with its own generator seeded by its request's seed."""
        import torch

        sampling = samplings[0]
        generators = None if sampling.is_greedy else [self._generator(s.seed) for s in samplings]
        eos = torch.tensor(sorted(self.eos_ids), device=self.device)
        active = list(range(len(samplings)))  # the batch's rows still generating, in cache order
        generated: list[list[int]] = [[] for _ in samplings]
        ended: set[int] = set()
        next_position = mask.sum(-1)  # each row's real tokens, so the next position whatever its padding
        for step in range(sampling.max_tokens):
            if step < sampling.min_tokens:
                logits[:, eos] = float("-inf")
            tokens = self._pick(logits, sampling, generators, active)
            for row, token, stop in zip(active, tokens.tolist(), torch.isin(tokens, eos).tolist(), strict=True):
                if row not in ended:
                    generated[row].append(token)
                    if stop:
                        ended.add(row)
            keep = [k for k, row in enumerate(active) if row not in ended]
            if not keep or step + 1 == sampling.max_tokens:
                break
            # Dropping rows copies the whole cache, so drop them once a quarter of the batch has ended; until
            # then an ended row is computed but its tokens are ignored.
            if 4 * (len(active) - len(keep)) >= len(active):
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                mask, tokens, next_position = mask[index], tokens[index], next_position[index]
                active = [active[k] for k in keep]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            logits = self.model(input_ids=tokens[:, None], attention_mask=mask, position_ids=next_position[:, None],
                                past_key_values=cache, use_cache=True).logits[:, -1]
            next_position = next_position + 1
        return generated

    def _generator(self, seed: int | None) -> "torch.Generator":
        import torch

        generator = torch.Generator(device=self.device)
        generator.manual_seed(0 if seed is None else int(seed))
        return generator

    @staticmethod
    def _pick(logits: "torch.Tensor", sampling: SamplingConfig, generators: "list[torch.Generator] | None",
              active: list[int]) -> "torch.Tensor":
        """Return the next token of every active row: the argmax, or a draw from the row's own generator after
        temperature and nucleus (top_p) filtering, as generate() samples."""
        import torch

        if generators is None:
            return logits.argmax(-1)
        scores = logits.float() / sampling.temperature
        if sampling.top_p < 1.0:
            ordered, order = scores.sort(-1, descending=False)
            cumulative = ordered.softmax(-1).cumsum(-1)
            remove = cumulative <= 1 - sampling.top_p
            remove[:, -1] = False  # keep at least the most likely token
            scores = scores.masked_fill(remove.scatter(1, order, remove), float("-inf"))
        probs = scores.softmax(-1)
        return torch.cat([torch.multinomial(probs[k], 1, generator=generators[row])
                          for k, row in enumerate(active)])

    def _result(self, generated: list[int], tokens_in: int, elapsed: float) -> GenerationResult:
        stop = next((n for n, token in enumerate(generated) if token in self.eos_ids), None)
        kept = generated if stop is None else generated[:stop]
        kept = [t for t in kept if t != self.tokenizer.pad_token_id]
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return GenerationResult(
            text=text.strip(), tokens_in=int(tokens_in), tokens_out=len(kept) + (stop is not None),
            latency_s=elapsed, finish_reason="stop" if stop is not None else "length",
        )

    def close(self) -> None:
        import torch

        self.model = None
        if self.prefix_store is not None:
            self.prefix_store.clear()
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
