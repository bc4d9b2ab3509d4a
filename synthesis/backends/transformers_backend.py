"""Local Hugging Face models: chat templates, left-padded batched generate(), CPU or GPU."""

import logging
import time
from itertools import groupby

from .base import BackendError, GenerationBackend, GenerationResult

logger = logging.getLogger(__name__)

# Share a prefix when it covers at least this share of the shortest prompt and this many tokens.
PREFIX_SHARE = 0.5
MIN_SHARED_TOKENS = 32
FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def shared_prefix(ids, indices):
    """Return the length of the token prefix all the given prompts share (at most the shortest minus one)."""
    rows = [ids[i] for i in indices]
    limit = min(len(row) for row in rows) - 1  # keep a token to feed, so generate() starts from real input
    length = 0
    while length < limit and all(row[length] == rows[0][length] for row in rows):
        length += 1
    return length


def resolve_device(device):
    import torch

    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class TransformersBackend(GenerationBackend):
    """Batches requests that share sampling settings, sorted by length so padding stays small."""

    name = "transformers"

    def __init__(self, settings, model=None, tokenizer=None):
        super().__init__(settings)
        self.device = resolve_device(settings.device)
        if model is None:
            model, tokenizer = self._load(settings.model)
        self.model, self.tokenizer = model, tokenizer
        self._prepare_tokenizer()

    def _load(self, path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise BackendError(f"Cannot load a model from {path!r}: {exc}") from exc
        return model.to(self.device).eval(), tokenizer

    def _prepare_tokenizer(self):
        tok = self.tokenizer
        tok.padding_side = "left"  # decoder-only models continue from the right edge
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        if not tok.chat_template:
            tok.chat_template = FALLBACK_TEMPLATE
        eos = self.model.generation_config.eos_token_id
        eos = eos if eos is not None else tok.eos_token_id
        self.eos_ids = set(eos) if isinstance(eos, list) else {eos}

    def render(self, request):
        text = self.tokenizer.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True)
        return text + request.prefill

    def generate(self, requests):
        results = [None] * len(requests)
        order = sorted(range(len(requests)), key=lambda i: repr(requests[i].sampling))
        for _sampling, group in groupby(order, key=lambda i: repr(requests[i].sampling)):
            indices = list(group)
            ids = {i: self.tokenizer(self.render(requests[i]), add_special_tokens=False)["input_ids"] for i in indices}
            for chunk, prefix in self.plan_batches(indices, ids):
                outputs = self._generate_chunk([ids[i] for i in chunk], requests[chunk[0]].sampling, prefix)
                for i, result in zip(chunk, outputs, strict=True):
                    results[i] = result
        return results

    def plan_batches(self, indices, ids):
        """Return [(indices, shared prefix length)]: prompts sharing a long prefix (one question's rewrites) batch
        together and compute that prefix once; the rest batch by length with left padding."""
        size = max(1, self.settings.batch_size)
        batches, loose = [], []
        ordered = sorted(indices, key=lambda i: ids[i])  # prompts with a common prefix become neighbours
        while ordered:
            cluster = [ordered.pop(0)]
            while ordered and len(cluster) < size and shared_prefix(ids, [*cluster, ordered[0]]) >= (
                    PREFIX_SHARE * min(len(ids[i]) for i in [*cluster, ordered[0]])):
                cluster.append(ordered.pop(0))
            prefix = shared_prefix(ids, cluster)
            if len(cluster) >= max(2, size // 2) and prefix >= MIN_SHARED_TOKENS and self.settings.share_prefix:
                batches.append((cluster, prefix))
            else:
                loose.extend(cluster)
        loose.sort(key=lambda i: len(ids[i]))
        batches += [(loose[start:start + size], 0) for start in range(0, len(loose), size)]
        return batches

    def _generate_chunk(self, rows, sampling, prefix=0):
        """Generate for token rows sharing one sampling config; a failure is reported on every item, never raised."""
        import torch

        try:
            return self._run(rows, sampling, prefix)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            if len(rows) == 1:
                return [GenerationResult(error="CUDA out of memory for a single prompt.")]
            half = len(rows) // 2  # halve the batch and try again, rather than failing it
            return (self._generate_chunk(rows[:half], sampling, prefix)
                    + self._generate_chunk(rows[half:], sampling, prefix))
        except Exception as exc:
            logger.exception("generation failed for a batch of %d", len(rows))
            return [GenerationResult(error=f"{type(exc).__name__}: {exc}") for _ in rows]

    def _inputs(self, rows, prefix):
        """Return input ids, attention mask and a cache: left padding, or [prefix][padding][suffix] with the
        prefix's keys and values computed once and repeated for every row."""
        import torch
        from transformers import DynamicCache

        pad = self.tokenizer.pad_token_id
        width = max(len(row) - prefix for row in rows)
        ids = [row[:prefix] + [pad] * (width - len(row) + prefix) + row[prefix:] for row in rows]
        mask = [[1] * prefix + [0] * (width - len(row) + prefix) + [1] * (len(row) - prefix) for row in rows]
        ids = torch.tensor(ids, device=self.device)
        mask = torch.tensor(mask, device=self.device)
        if not prefix:
            return ids, mask, None
        cache = DynamicCache(config=self.model.config)
        self.model(input_ids=ids[:1, :prefix], past_key_values=cache, use_cache=True)
        cache.batch_repeat_interleave(len(rows))
        return ids, mask, cache

    def _run(self, rows, sampling, prefix=0):
        import torch
        from transformers import GenerationConfig

        config = GenerationConfig(
            max_new_tokens=sampling.max_tokens, min_new_tokens=sampling.min_tokens or None,
            do_sample=not sampling.is_greedy, pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=sorted(self.eos_ids),
            **({} if sampling.is_greedy else {"temperature": sampling.temperature, "top_p": sampling.top_p}),
        )
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)  # batch-level: the same batch composition reproduces the same text
        started = time.perf_counter()
        with torch.inference_mode():
            ids, mask, cache = self._inputs(rows, prefix)
            output = self.model.generate(input_ids=ids, attention_mask=mask, past_key_values=cache,
                                         generation_config=config)
        elapsed = time.perf_counter() - started
        width = ids.shape[1]
        return [self._result(row[width:].tolist(), len(rows[i]), elapsed) for i, row in enumerate(output)]

    def _result(self, generated, tokens_in, elapsed):
        stop = next((n for n, token in enumerate(generated) if token in self.eos_ids), None)
        kept = generated if stop is None else generated[:stop]
        kept = [t for t in kept if t != self.tokenizer.pad_token_id]
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return GenerationResult(
            text=text.strip(), tokens_in=int(tokens_in), tokens_out=len(kept) + (stop is not None),
            latency_s=elapsed, finish_reason="stop" if stop is not None else "length",
        )

    def close(self):
        import torch

        self.model = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
