"""Interactive diagnostic QA: the batched engine (every active case advances together, one backend batch per role
and turn) against the same engine run one case at a time, with the same seeds; cases per minute and accuracy.

    nice -n 10 .venv/bin/python bench/interactive_bench.py                          # 50 AskDocs cases, SmolLM2, CPU
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
from synthesis.backends.transformers_backend import TransformersBackend  # noqa: E402
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


def engine_for(backend, name, args) -> InteractiveEngine:
    def role(role_name, tokens):
        return RoleModel(role_name, backend, SamplingConfig(temperature=0.0, max_tokens=tokens), name)

    return InteractiveEngine(role("expert", args.expert_tokens), role("question_generator", args.question_tokens),
                             LLMFactPatient(role("patient", args.patient_tokens)), max_questions=args.max_questions)


def run_mode(engine, cases, seed, one_at_a_time):
    started, cpu_started, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    episodes = engine.run(cases, seed, one_at_a_time=one_at_a_time)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
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
                  "tokens_out": sum(row["tokens_out"] for row in rows)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SMOLLM2), help="Local model folder (default: SmolLM2-135M-Instruct).")
    parser.add_argument("--tiny", action="store_true", help="A random tiny Llama (smoke test).")
    parser.add_argument("--llama-1b", action="store_true", help="A random Llama-3.2-1B-shaped model (GPU check).")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--sequential-cases", type=int, default=0,
                        help="Time the one-at-a-time loop on only the first N cases (0: all); its accuracy is then "
                             "compared with the batched run's on those cases.")
    parser.add_argument("--max-questions", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="Rows per generate() call in the backend.")
    parser.add_argument("--expert-tokens", type=int, default=48)
    parser.add_argument("--question-tokens", type=int, default=32)
    parser.add_argument("--patient-tokens", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default="batched,sequential")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "interactive_bench.json"))
    args = parser.parse_args()

    import torch

    backend, name = load_backend(args)
    cases = load_cases(args.cases)
    engine = engine_for(backend, name, args)
    report = {"model": name, "device": args.device, "torch_threads": torch.get_num_threads(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "load_average_start": os.getloadavg(), "settings": {k: v for k, v in vars(args).items()
                                                                   if k not in ("out",)}}
    results = {}
    for mode in args.modes.split(","):
        subset = cases[: args.sequential_cases] if mode == "sequential" and args.sequential_cases else cases
        rows, summary = run_mode(engine, subset, args.seed, one_at_a_time=mode == "sequential")
        report[f"{mode}_first_transcript"] = rows[0]["transcript"]
        results[mode] = (rows, summary)
        report[mode] = summary
        print(mode, json.dumps(summary), flush=True)
    if {"batched", "sequential"} <= set(results):
        batched_rows = {row["case_id"]: row for row in results["batched"][0]}
        alone_rows = results["sequential"][0]
        same_cases = [batched_rows[row["case_id"]] for row in alone_rows]
        report["speedup"] = round(report["batched"]["cases_per_minute"] / report["sequential"]["cases_per_minute"], 2)
        report["speedup_cpu"] = round(report["batched"]["cases_per_cpu_minute"]
                                      / report["sequential"]["cases_per_cpu_minute"], 2)
        report["same_cases_correct"] = {"batched": sum(r["correct"] for r in same_cases),
                                        "sequential": sum(r["correct"] for r in alone_rows)}
        report["identical_accuracy"] = report["same_cases_correct"]["batched"] == report["same_cases_correct"][
            "sequential"]
        report["identical_letters"] = sum(a["letter"] == b["letter"] for a, b in zip(same_cases, alone_rows,
                                                                                       strict=True))
        report["identical_transcripts"] = sum(a["transcript"] == b["transcript"] for a, b in zip(
            same_cases, alone_rows, strict=True))
    report["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "settings"}, indent=1))


if __name__ == "__main__":
    main()
