"""Where an interactive run spends its time: prefill (forward calls over more than one token) against decoding
(one token per row), for the batched engine or the one-case-at-a-time loop, with bench/interactive_bench.py's
settings (SmolLM2-135M-Instruct, greedy, 48/32/48 new tokens), with the backend's prefix store or without it.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/interactive_profile.py --cases 1 --modes sequential
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/interactive_profile.py --cases 1 --prefix-cache-tokens 0
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import interactive_bench as bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1)
    parser.add_argument("--modes", default="sequential")
    parser.add_argument("--max-questions", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--prefix-cache-tokens", type=int, default=bench.DEFAULT_PREFIX_CACHE_TOKENS)
    args = parser.parse_args()
    settings = argparse.Namespace(model=str(bench.SMOLLM2), tiny=False, llama_1b=False, device="cpu",
                                  batch_size=args.batch_size, expert_tokens=48, question_tokens=32,
                                  patient_tokens=48, max_questions=args.max_questions,
                                  prefix_cache_tokens=args.prefix_cache_tokens)
    loaded, name = bench.load_backend(settings)
    backend = bench.mode_backend(loaded, "sequential" if args.prefix_cache_tokens else "batched-nocache", settings)
    stats: dict[str, list] = {}
    forward = backend.model.forward

    def timed_forward(*arguments, **keywords):
        started = time.process_time()
        output = forward(*arguments, **keywords)
        ids = keywords["input_ids"]
        entry = stats.setdefault("decode" if ids.shape[1] == 1 else "prefill", [0.0, 0, 0])
        entry[0] += time.process_time() - started
        entry[1] += 1
        entry[2] += ids.numel()
        return output

    backend.model.forward = timed_forward
    cases = bench.load_cases(args.cases)
    engine = bench.engine_for(backend, name, settings)
    for mode in args.modes.split(","):
        stats.clear()
        if backend.prefix_store is not None:
            backend.prefix_store.clear()
        load = os.getloadavg()
        started, cpu = time.perf_counter(), time.process_time()
        engine.run(cases, 0, one_at_a_time=mode == "sequential")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(json.dumps({"mode": mode, "cases": len(cases), "seconds": round(elapsed, 1),
                          "cpu_seconds": round(cpu, 1), "load_average": load,
                          **{kind: {"cpu_seconds": round(s, 1), "calls": n, "tokens": t}
                             for kind, (s, n, t) in stats.items()}}), flush=True)


if __name__ == "__main__":
    main()
