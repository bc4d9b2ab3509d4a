"""Interactive diagnostic QA: the engine (every active case advances together, one backend batch per role and
turn, prompts computed only after their longest stored prefix) against the loop the authors' code runs (one case
at a time, every prompt computed in full on its own), with the same seeds; cases per minute and accuracy.

Modes (--modes, in the order given; each has a backend of its own on the one loaded model, so no mode starts with
another's stored prefixes):
    baseline          one case at a time, one prompt per forward pass, no prefix store (the authors' loop)
    sequential        the engine one case at a time: batched within the case, with the prefix store
    batched           the engine, all cases together, with the prefix store
    batched-nocache   the engine, all cases together, without the prefix store (the earlier engine)

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/interactive_bench.py --cases 50 --max-questions 2 \
        --sequential-cases 10 --batch-size 8                                    # 50 AskDocs cases, SmolLM2, CPU
    python bench/interactive_bench.py --llama-1b --device cuda --cases 200 --sequential-cases 20   # the GPU check
    .venv/bin/python bench/interactive_bench.py --tiny --cases 4 --max-questions 2     # smoke test

SmolLM2-135M-Instruct plays the expert, the patient (LLM fact selector) and the question generator. Decoding is
greedy, as in the earlier figures; sampled text would compare case by case too, since every request samples from
its own seed whatever shares its batch. Needs no database.
"""

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from evaluation.interactive import Case, InteractiveEngine, repeat_metrics  # noqa: E402
from evaluation.parsing import clean_fact  # noqa: E402
from evaluation.patients import LLMFactPatient  # noqa: E402
from evaluation.roles import RoleModel  # noqa: E402
from synthesis.backends import EndpointSettings  # noqa: E402
from synthesis.backends.transformers_backend import DEFAULT_PREFIX_CACHE_TOKENS, TransformersBackend  # noqa: E402
from synthesis.configs import SamplingConfig  # noqa: E402

SHARED = Path(os.environ.get("ALFA_SHARED_DATA_DIR", ROOT.parent / "shared" / "data"))
SMOLLM2 = ROOT / "var" / "models" / "smollm2-135m-instruct"
LLAMA_1B = {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
            "num_key_value_heads": 8}


def load_cases(limit: int) -> list[Case]:
    """The first `limit` MediQ-AskDocs cases, with the original post as initial information (method.md §2.7)."""
    cases = []
    with open(SHARED / "mediq" / "askdocs_mcq.jsonl") as handle:
        for line in handle:
            record = json.loads(line)
            facts = tuple(clean_fact(f) for f in record["atomic_facts"] if clean_fact(f))
            cases.append(Case(record["id"], record["question"], record["options"], record["answer_idx"],
                              record["original_post"].strip(), facts))
            if len(cases) == limit:
                break
    return cases


def load_backend(args):
    settings = EndpointSettings(backend="transformers", model=str(args.model), device=args.device,
                                batch_size=args.batch_size)
    if args.tiny or args.llama_1b:
        import torch

        from synthesis.tiny_model import build_tiny_model

        dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
        model, tokenizer = build_tiny_model(device=args.device, dtype=dtype, **(LLAMA_1B if args.llama_1b else {}))
        name = "random Llama-3.2-1B-shaped" if args.llama_1b else "random tiny Llama"
        return TransformersBackend(settings, model=model, tokenizer=tokenizer), name
    return TransformersBackend(settings), Path(args.model).name


def mode_backend(loaded, mode, args):
    """A backend of the loaded model for one mode: a fresh prefix store, or none."""
    baseline = mode == "baseline"
    settings = EndpointSettings(backend="transformers", model=str(args.model), device=args.device,
                                batch_size=1 if baseline else args.batch_size, share_prefix=not baseline)
    tokens = 0 if baseline or mode.endswith("nocache") else args.prefix_cache_tokens
    return TransformersBackend(settings, model=loaded.model, tokenizer=loaded.tokenizer, prefix_cache_tokens=tokens)


def engine_for(backend, name, args) -> InteractiveEngine:
    def role(role_name, tokens):
        return RoleModel(role_name, backend, SamplingConfig(temperature=0.0, max_tokens=tokens), name)

    return InteractiveEngine(role("expert", args.expert_tokens), role("question_generator", args.question_tokens),
                             LLMFactPatient(role("patient", args.patient_tokens)), max_questions=args.max_questions)


def run_mode(engine, cases, seed, one_at_a_time, backend):
    started, cpu_started, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    episodes = engine.run(cases, seed, one_at_a_time=one_at_a_time)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    store = backend.prefix_store
    rows = [{**episode.to_dict(), "repeat": 0} for episode in episodes]
    metrics = repeat_metrics(rows, engine.max_questions)
    return rows, {"cases": len(rows), "seconds": round(elapsed, 1),
                  "cases_per_minute": round(60 * len(rows) / elapsed, 3),
                  # CPU seconds of this process (all its threads): what a case costs, whatever else shares the cores
                  "cpu_seconds": round(cpu, 1), "cases_per_cpu_minute": round(60 * len(rows) / cpu, 3),
                  "load_average_start": round(load, 2), "load_average_end": round(os.getloadavg()[0], 2),
                  "correct": metrics["correct"], "accuracy": metrics["accuracy"],
                  "mean_questions": metrics["mean_questions"], "timeout_rate": metrics["timeout_rate"],
                  "tokens_in": sum(row["tokens_in"] for row in rows),
                  "tokens_out": sum(row["tokens_out"] for row in rows),
                  # what the prefix-store path ran through the model and took from the store instead
                  "prompt_tokens_computed": backend.prompt_tokens_computed if store else None,
                  "prompt_tokens_reused": backend.prompt_tokens_reused if store else None,
                  "store_peak_tokens": store.peak_tokens if store else None,
                  # the process's peak so far (modes run in the order given): kB on Linux
                  "peak_rss_mb_so_far": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def compare(report, results, mode, reference):
    """Speed ratios and case-by-case agreement of a mode with the reference mode, on the cases both ran."""
    by_case = {row["case_id"]: row for row in results[mode][0]}
    ref_rows = [row for row in results[reference][0] if row["case_id"] in by_case]
    rows = [by_case[row["case_id"]] for row in ref_rows]
    return {"cases": len(rows),
            "speedup_wall": round(report[mode]["cases_per_minute"] / report[reference]["cases_per_minute"], 2),
            "speedup_cpu": round(report[mode]["cases_per_cpu_minute"] / report[reference]["cases_per_cpu_minute"], 2),
            "correct": {mode: sum(r["correct"] for r in rows), reference: sum(r["correct"] for r in ref_rows)},
            "identical_letters": sum(a["letter"] == b["letter"] for a, b in zip(rows, ref_rows, strict=True)),
            "identical_transcripts": sum(a["transcript"] == b["transcript"]
                                         for a, b in zip(rows, ref_rows, strict=True))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SMOLLM2), help="Local model folder (default: SmolLM2-135M-Instruct).")
    parser.add_argument("--tiny", action="store_true", help="A random tiny Llama (smoke test).")
    parser.add_argument("--llama-1b", action="store_true", help="A random Llama-3.2-1B-shaped model (GPU check).")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--sequential-cases", type=int, default=0,
                        help="Time the one-at-a-time modes on only the first N cases (0: all); the others are "
                             "compared with them on those cases.")
    parser.add_argument("--max-questions", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="Rows per generate() call in the backend.")
    parser.add_argument("--expert-tokens", type=int, default=48)
    parser.add_argument("--question-tokens", type=int, default=32)
    parser.add_argument("--patient-tokens", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default="baseline,sequential,batched")
    parser.add_argument("--prefix-cache-tokens", type=int, default=DEFAULT_PREFIX_CACHE_TOKENS,
                        help="Prompt tokens the prefix store keeps (LRU) in the modes that use it.")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "interactive_bench.json"))
    args = parser.parse_args()

    import torch

    loaded, name = load_backend(args)
    cases = load_cases(args.cases)
    report = {"model": name, "device": args.device, "torch_threads": torch.get_num_threads(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "load_average_start": os.getloadavg(), "settings": {k: v for k, v in vars(args).items()
                                                                   if k not in ("out",)}}
    results = {}
    modes = args.modes.split(",")
    for mode in modes:
        one_at_a_time = mode in ("baseline", "sequential")
        subset = cases[: args.sequential_cases] if one_at_a_time and args.sequential_cases else cases
        backend = mode_backend(loaded, mode, args)
        rows, summary = run_mode(engine_for(backend, name, args), subset, args.seed, one_at_a_time, backend)
        report[f"{mode}_first_transcript"] = rows[0]["transcript"]
        results[mode] = (rows, summary)
        report[mode] = summary
        print(mode, json.dumps(summary), flush=True)
    reference = "baseline" if "baseline" in results else modes[0]
    report["against"] = {mode: compare(report, results, mode, reference) for mode in results if mode != reference}
    if {"sequential", "batched"} <= set(results):
        report["batched_against_sequential"] = compare(report, results, "batched", "sequential")
    report["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "settings"}, indent=1))


if __name__ == "__main__":
    main()
