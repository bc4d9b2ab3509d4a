"""Benchmark: batched transformers generation against one prompt at a time, same model, prompts and tokens.

    .venv/bin/python bench/synthesis_batch_bench.py                      # SmolLM2-135M on this CPU
    .venv/bin/python bench/synthesis_batch_bench.py --tiny --questions 1  # smoke test, random tiny model
    python bench/synthesis_batch_bench.py --llama-1b --device cuda       # the prepared GPU check
"""

import argparse
import random
import time

from synthesis_common import SMOLLM2, machine, synthesis_workload, write_result

from synthesis.backends import EndpointSettings, GenerationRequest
from synthesis.backends.transformers_backend import TransformersBackend
from synthesis.configs import SamplingConfig

LLAMA_1B = {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
            "num_key_value_heads": 8, "max_position_embeddings": 131072, "tie_word_embeddings": True,
            "vocab_size": 128256, "rope_theta": 500000.0}


def load_backend(args):
    settings = EndpointSettings(backend="transformers", model=str(args.model), device=args.device, batch_size=1)
    if args.tiny or args.llama_1b:
        import torch

        from synthesis.tiny_model import build_tiny_model

        dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
        model, tokenizer = build_tiny_model(device=args.device, dtype=dtype, **(LLAMA_1B if args.llama_1b else {}))
        name = "random Llama-3.2-1B-shaped" if args.llama_1b else "random tiny Llama"
        settings = EndpointSettings(backend="transformers", model=name, device=args.device, batch_size=1)
        return TransformersBackend(settings, model=model, tokenizer=tokenizer)
    return TransformersBackend(settings)


def sample(requests, size):
    """A fixed random sample of the workload (all of it for 0), so a subset covers every question and direction."""
    if not size or size >= len(requests):
        return requests
    return [requests[i] for i in sorted(random.Random(0).sample(range(len(requests)), size))]


def run(backend, requests, batch_size, share_prefix=True):
    backend.settings = EndpointSettings(**{**backend.settings.__dict__, "batch_size": batch_size,
                                           "share_prefix": share_prefix})
    if backend.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    started = time.perf_counter()
    results = backend.generate(requests)
    if backend.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    failed = [r.error for r in results if not r.ok]
    assert not failed, failed[:3]
    tokens = sum(r.tokens_out for r in results)
    return {"batch_size": batch_size, "share_prefix": share_prefix, "items": len(results), "seconds": round(elapsed, 2),
            "items_per_s": round(len(results) / elapsed, 3), "tokens_out": tokens,
            "tokens_per_s": round(tokens / elapsed, 1),
            "tokens_in_mean": round(sum(r.tokens_in for r in results) / len(results), 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SMOLLM2))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tiny", action="store_true", help="A random ~100k-parameter model (smoke test).")
    parser.add_argument("--llama-1b", action="store_true", help="A random Llama-3.2-1B-shaped model.")
    parser.add_argument("--questions", type=int, default=1, help="Questions; each gives 12 rewrite items.")
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--catalogue", type=int, choices=[1, 2], default=2, help="Prompt catalogue version.")
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument("--skip-plain", action="store_true", help="Skip batched generation without prefix sharing.")
    parser.add_argument("--sequential-items", type=int, default=0,
                        help="Time one at a time on a fixed random sample of N items (0: all); a rate is a rate.")
    parser.add_argument("--rounds", type=int, default=2, help="Alternating repetitions; the best round counts.")
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    backend = load_backend(args)
    # Every reply is exactly max_tokens long (min_tokens), so both modes do the same work.
    sampling = SamplingConfig(temperature=1.0, top_p=1.0, max_tokens=args.max_tokens, min_tokens=args.max_tokens,
                              seed=0)
    workload = synthesis_workload(args.questions, args.catalogue)
    requests = [GenerationRequest(messages=m, sampling=sampling) for m in workload]
    run(backend, requests[:2], 2)  # warm-up: kernels, allocator, caches
    result = {"benchmark": "transformers backend: batched vs one prompt at a time", "model": backend.model_name,
              "device": backend.device, "machine": machine(), "max_tokens": args.max_tokens,
              "workload": (f"{args.questions} AskDocs questions x 6 attributes x 2 directions"
                           f" (v{args.catalogue} prompts)")}
    modes = {"batched": (requests, args.batch, True)}
    if not args.skip_plain:
        modes["batched_no_prefix_sharing"] = (requests, args.batch, False)
    if not args.skip_sequential:
        modes["sequential"] = (sample(requests, args.sequential_items), 1, False)
    runs = {name: [] for name in modes}
    for _round in range(args.rounds):  # modes alternate, so a burst of load from elsewhere hits all of them
        for name, (items, batch, share) in modes.items():
            runs[name].append(run(backend, items, batch, share))
    for name, measured in runs.items():
        result[name] = max(measured, key=lambda r: r["items_per_s"])  # best round: least disturbed by others
        result[name]["items_per_s_rounds"] = [r["items_per_s"] for r in measured]
    if not args.skip_sequential:
        base = result["sequential"]["items_per_s"]
        result["speedup_items_per_s"] = round(result["batched"]["items_per_s"] / base, 2)
        if not args.skip_plain:
            plain = result["batched_no_prefix_sharing"]["items_per_s"]
            result["speedup_without_prefix_sharing"] = round(plain / base, 2)
    result["machine"]["load_average_1m_after"] = machine()["load_average_1m"]
    write_result(result, args.out)


if __name__ == "__main__":
    main()
