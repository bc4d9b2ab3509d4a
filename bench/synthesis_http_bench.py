"""Benchmark: the HTTP backend with 16 concurrent requests against `serve_model`, versus sequential requests.

    .venv/bin/python bench/synthesis_http_bench.py                  # SmolLM2-135M served on loopback
    .venv/bin/python bench/synthesis_http_bench.py --tiny           # smoke test with a random tiny model
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from synthesis_common import ROOT, SMOLLM2, machine, synthesis_workload, write_result

from synthesis.backends import EndpointSettings, GenerationRequest
from synthesis.backends.openai_http import OpenAIHTTPBackend
from synthesis.configs import SamplingConfig


def start_server(model, port, max_batch, log):
    command = [sys.executable, "manage.py", "serve_model", str(model), "--port", str(port), "--device", "cpu",
               "--max-batch", str(max_batch), "--batch-wait-ms", "50", "--name", "bench"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "DJANGO_SETTINGS_MODULE": "alfa_platform.settings"})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.5)
        if process.poll() is not None:
            raise RuntimeError(f"serve_model exited: {Path(log.name).read_text()[-2000:]}")
    raise TimeoutError("serve_model did not start")


def run(base_url, requests, concurrency):
    client = OpenAIHTTPBackend(EndpointSettings(backend="openai_http", model="bench", base_url=base_url,
                                                max_concurrency=concurrency, timeout_s=1800, max_retries=0))
    started = time.perf_counter()
    results = client.generate(requests)
    elapsed = time.perf_counter() - started
    failed = [r.error for r in results if not r.ok]
    assert not failed, failed[:3]
    client.close()
    return {"concurrency": concurrency, "items": len(results), "seconds": round(elapsed, 2),
            "items_per_s": round(len(results) / elapsed, 3), "tokens_out": client.usage["tokens_out"],
            "tokens_per_s": round(client.usage["tokens_out"] / elapsed, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SMOLLM2))
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--questions", type=int, default=1, help="Questions; each gives 12 rewrite items.")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--catalogue", type=int, choices=[1, 2], default=2, help="Prompt catalogue version.")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating repetitions; the best round counts.")
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    model = args.model
    if args.tiny:
        from synthesis.tiny_model import build_tiny_model

        model = tempfile.mkdtemp(prefix="tiny-model-")
        build_tiny_model(model)
    sampling = SamplingConfig(temperature=1.0, max_tokens=args.max_tokens, min_tokens=args.max_tokens, seed=0)
    workload = synthesis_workload(args.questions, args.catalogue)
    requests = [GenerationRequest(messages=m, sampling=sampling) for m in workload]
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as log:
        server = start_server(model, args.port, args.concurrency, log)
    base_url = f"http://127.0.0.1:{args.port}/v1"
    try:
        run(base_url, requests[:2], 2)  # warm-up
        result = {"benchmark": "HTTP backend against serve_model: concurrent vs sequential requests",
                  "model": "random tiny Llama" if args.tiny else str(model), "machine": machine(),
                  "max_tokens": args.max_tokens,
                  "workload": (f"{args.questions} AskDocs questions x 6 attributes x 2 directions"
                           f" (v{args.catalogue} prompts)"),
                  "server": f"manage.py serve_model --max-batch {args.concurrency} (same machine)"}
        runs = {"concurrent": [], "sequential": []}
        for _round in range(args.rounds):  # alternate, so load from elsewhere hits both modes
            runs["concurrent"].append(run(base_url, requests, args.concurrency))
            runs["sequential"].append(run(base_url, requests, 1))
        for name, measured in runs.items():
            result[name] = max(measured, key=lambda r: r["items_per_s"])
            result[name]["items_per_s_rounds"] = [r["items_per_s"] for r in measured]
        result["speedup_items_per_s"] = round(
            result["concurrent"]["items_per_s"] / result["sequential"]["items_per_s"], 2)
        result["machine"]["load_average_1m_after"] = machine()["load_average_1m"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    write_result(result, args.out)


if __name__ == "__main__":
    main()
