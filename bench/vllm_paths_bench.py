"""Benchmark: the platform's two vLLM paths against bare vLLM, with the same model, prompts, sampling and tokens.

The synthesis rewrite prompts (real AskDocs questions, v2 templates) go to one random Llama-3.2-1B-shaped model
three ways: bare vLLM (`LLM.generate` on the chat-rendered prompts), the in-process `VLLMBackend` (the
`GenerationRequest` objects the synthesis runner makes) and the `openai_http` backend against `vllm serve` on
loopback. Every reply is exactly max_tokens long (min_tokens = max_tokens), so each path generates the same tokens;
tokens/s is generated tokens over wall seconds, all timed rounds together. Target: both platform paths >= 0.9 x bare.

    python bench/vllm_paths_bench.py --out $OUT/gpu_vllm_check.json   # a GPU host with vLLM (bench/gpu_vllm_check.sh)
    .venv/bin/python bench/vllm_paths_bench.py --check                # any machine: the paths get the same work
"""

import argparse
import importlib.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from synthesis_batch_bench import LLAMA_1B
from synthesis_common import ATTRIBUTE_KEYS, machine, synthesis_workload, write_result

from synthesis.backends import EndpointSettings, GenerationBackend, GenerationRequest, GenerationResult
from synthesis.backends.vllm_engine import MISSING, VLLMBackend
from synthesis.configs import SamplingConfig

TARGET = 0.9  # each platform path reaches at least 90% of bare vLLM's tokens/s
EXIT_NO_VLLM = 3
SERVED_NAME = "bench"
ENGINE = {"enable_prefix_caching": True, "seed": 0}  # what VLLMBackend gives vllm.LLM; bare and the server get it too
ITEMS_PER_QUESTION = len(ATTRIBUTE_KEYS) * 2  # six attributes x two directions
Messages = list[dict[str, str]]


def sampling_config(max_tokens: int) -> SamplingConfig:
    """The synthesis benches' sampling: seeded, and every reply exactly max_tokens long (min_tokens)."""
    return SamplingConfig(temperature=1.0, top_p=1.0, max_tokens=max_tokens, min_tokens=max_tokens, seed=0)


def bare_sampling(sampling: SamplingConfig) -> dict[str, Any]:
    """vllm.SamplingParams arguments as a user of bare vLLM writes them for this sampling."""
    return {"temperature": sampling.temperature, "top_p": sampling.top_p, "max_tokens": sampling.max_tokens,
            "min_tokens": sampling.min_tokens, "seed": sampling.seed}


def workload_sets(questions: int, rounds: int, catalogue: int = 2) -> list[list[Messages]]:
    """A warm-up set, then one set per timed round, each of fresh questions: no round finds its prompts cached."""
    messages = synthesis_workload(questions * (rounds + 1), catalogue)
    size = questions * ITEMS_PER_QUESTION
    return [messages[start:start + size] for start in range(0, len(messages), size)]


def pad_vocabulary(path: Path, size: int) -> None:
    """Add filler tokens to a tokenizer.json up to `size` ids, so every id the random model samples decodes.

    A filler has no merge, so encoding never produces one: prompts tokenize exactly as before. Each decodes to a
    word like " w123" (the byte-level "Ġ" is a space).
    """
    state = json.loads(path.read_text())
    vocab = state["model"]["vocab"]
    first = 1 + max([*vocab.values(), *(token["id"] for token in state["added_tokens"])])
    fresh = (name for name in (f"Ġw{i}" for i in itertools.count()) if name not in vocab)
    vocab.update(zip(fresh, range(first, size), strict=False))  # fresh is endless; the ids end it
    path.write_text(json.dumps(state, ensure_ascii=False))


def save_tokenizer(folder: Path, vocab_size: int) -> Any:  # a transformers tokenizer, as vLLM loads it
    """Save the repo's tiny BPE tokenizer (and chat template), padded to the model's vocabulary; load it back."""
    from transformers import AutoTokenizer

    from synthesis.tiny_model import build_tokenizer

    build_tokenizer().save_pretrained(folder)
    pad_vocabulary(folder / "tokenizer.json", vocab_size)
    return AutoTokenizer.from_pretrained(folder)


def build_model(folder: Path, shape: dict[str, Any]) -> Any:
    """Save a random Llama model of this shape in bf16 with its tokenizer; built on the CPU, so that this process
    holds no GPU memory while the vLLM engines start."""
    import torch

    from synthesis.tiny_model import build_tiny_model

    model, _tokenizer = build_tiny_model(dtype=torch.bfloat16, **shape)
    model.save_pretrained(folder)
    vocab_size = model.config.vocab_size
    del model
    return save_tokenizer(folder, vocab_size)


def render(tokenizer: Any, sets: list[list[Messages]]) -> list[list[str]]:
    """The prompt texts bare vLLM gets: the chat template rendered as vLLM's chat() and server render it."""
    return [[tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
             for messages in conversations] for conversations in sets]


def requests_of(sets: list[list[Messages]], sampling: SamplingConfig) -> list[list[GenerationRequest]]:
    return [[GenerationRequest(messages=messages, sampling=sampling) for messages in conversations]
            for conversations in sets]


def http_backend(settings: EndpointSettings) -> GenerationBackend:
    """The openai_http backend, imported only here: it reads synthesis.secrets, which needs Django installed."""
    from synthesis.backends.openai_http import OpenAIHTTPBackend

    return OpenAIHTTPBackend(settings)


def same_work(sets: list[list[Messages]], prompts: list[list[str]], sampling: SamplingConfig) -> dict[str, Any]:
    """Compare what each path is sent: the same conversations and sampling values, one prompt per conversation."""
    request = requests_of(sets[:1], sampling)[0][0]
    fake_vllm: Any = SimpleNamespace(sampling_params=dict)  # VLLMBackend.params then returns its keyword arguments
    in_process = VLLMBackend.params(fake_vllm, sampling)
    client: Any = http_backend(EndpointSettings(backend="openai_http", model=SERVED_NAME,
                                                base_url="http://127.0.0.1:9/v1"))  # never contacted
    body = client.payload(request)
    client.close()
    bare = bare_sampling(sampling)
    return {"sampling": bare, "in_process_sampling_same": in_process == bare,
            "http_sampling_same": {key: body.get(key) for key in bare} == bare,
            "messages_same": list(request.messages) == sets[0][0] == body["messages"],
            "prompts_per_set": [len(texts) for texts in prompts], "conversations_per_set": [len(s) for s in sets]}


def call_in_chunks(generate: Callable[[list[GenerationRequest]], list[GenerationResult]],
                   requests: list[GenerationRequest], chunk: int) -> list[GenerationResult]:
    """Call generate() as the synthesis runner does: `chunk` items per call (0: all of them in one call)."""
    size = chunk or len(requests)
    return [result for start in range(0, len(requests), size) for result in generate(requests[start:start + size])]


def counted(results: list[GenerationResult]) -> tuple[int, int]:
    """Return (tokens out, tokens in); a failed item fails the path, since its tokens would go uncounted."""
    failed = [result.error for result in results if not result.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(results)} items failed: {failed[:3]}")
    return sum(result.tokens_out for result in results), sum(result.tokens_in for result in results)


def timed(generate: Callable[[int], tuple[int, int]], sets: int) -> dict[str, Any]:
    """Warm up on set 0, then time one round on each later set; tokens/s is over all timed rounds together."""
    generate(0)
    rounds: list[dict[str, Any]] = []
    total_seconds = 0.0
    for index in range(1, sets):
        started = time.perf_counter()
        tokens_out, tokens_in = generate(index)
        seconds = time.perf_counter() - started
        total_seconds += seconds
        rounds.append({"seconds": round(seconds, 3), "tokens_out": tokens_out, "tokens_in": tokens_in,
                       "tokens_per_s": round(tokens_out / seconds, 1)})
    tokens_out = sum(r["tokens_out"] for r in rounds)
    return {"tokens_per_s": round(tokens_out / total_seconds, 1), "seconds": round(total_seconds, 3),
            "tokens_out": tokens_out, "tokens_in": sum(r["tokens_in"] for r in rounds), "rounds": rounds}


def engine_facts(llm: Any) -> dict[str, int]:  # llm: a vllm.LLM
    """The scheduler limits vLLM chose for an LLM, so the server starts with the same ones (its defaults differ)."""
    try:
        config = llm.llm_engine.vllm_config
        return {"max_num_seqs": config.scheduler_config.max_num_seqs,
                "max_num_batched_tokens": config.scheduler_config.max_num_batched_tokens,
                "max_model_len": config.model_config.max_model_len}
    except AttributeError:  # another vLLM layout: the server keeps its own defaults, and the result says so
        return {}


def bare_path(spec: dict[str, Any], sampling: SamplingConfig) -> dict[str, Any]:
    from vllm import LLM, SamplingParams

    llm = LLM(model=spec["model"], **ENGINE)
    params = SamplingParams(**bare_sampling(sampling))

    def generate(index: int) -> tuple[int, int]:
        outputs = llm.generate(spec["prompts"][index], params, use_tqdm=False)
        return (sum(len(output.outputs[0].token_ids) for output in outputs),
                sum(len(output.prompt_token_ids) for output in outputs))

    return {**timed(generate, len(spec["prompts"])), "engine": engine_facts(llm)}


def in_process_path(spec: dict[str, Any], sampling: SamplingConfig) -> dict[str, Any]:
    backend = VLLMBackend(EndpointSettings(backend="vllm", model=spec["model"]))
    requests = requests_of(spec["sets"], sampling)
    result = timed(lambda index: counted(call_in_chunks(backend.generate, requests[index], spec["chunk"])),
                   len(requests))
    return {**result, "engine": engine_facts(backend.llm)}


def vllm_command() -> list[str]:
    """The `vllm` command of this interpreter's environment (a venv's bin/ or the system's)."""
    script = Path(sys.executable).with_name("vllm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vllm.entrypoints.cli.main"]


def server_args(model: str, port: int, engine: dict[str, int]) -> list[str]:
    """`vllm serve` with bare's engine: the same prefix caching, seed and (where known) scheduler limits."""
    args = ["serve", model, "--host", "127.0.0.1", "--port", str(port), "--served-model-name", SERVED_NAME,
            "--seed", str(ENGINE["seed"]), "--enable-prefix-caching"]
    for key, value in sorted(engine.items()):
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def stop_group(process: subprocess.Popen) -> None:
    """End a process and all it started (vLLM's engine core is a child process), so the GPU is free again."""
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        deadline = time.monotonic() + grace
        try:
            os.killpg(process.pid, sig)
            while time.monotonic() < deadline:
                process.poll()  # reap the leader, so that only live members keep the group
                os.killpg(process.pid, 0)
                time.sleep(0.5)
        except ProcessLookupError:  # the whole group is gone
            return


def wait_until_gpu_idle(seconds: float = 30.0) -> None:
    """Wait until no process holds the GPU, so the next engine finds all its memory free (best effort)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            listed = subprocess.run(["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader"],
                                    capture_output=True, text=True, timeout=10, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            return
        if not listed.strip():
            return
        time.sleep(1)


def log_tail(log: Path, size: int = 3000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else ""


def run_phase(name: str, spec_path: Path, work: Path, logs: Path, seconds: float) -> dict[str, Any]:
    """Run one in-process path in a fresh process: vLLM frees a process's GPU memory only when it ends."""
    result, log = work / f"{name}.json", logs / f"vllm_{name}.log"
    command = [sys.executable, __file__, "--phase", name, "--spec", str(spec_path), "--result", str(result)]
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code: int | str = process.wait(timeout=max(1.0, seconds))
        except subprocess.TimeoutExpired:
            code = f"timed out after {seconds:.0f} s"
        finally:
            stop_group(process)
    wait_until_gpu_idle()
    if code != 0 or not result.exists():
        return {"error": f"{name} exited {code}; log tail:\n{log_tail(log)}"}
    return json.loads(result.read_text())


def start_server(command: list[str], port: int, log: Any, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(process, port, Path(log.name), seconds)
    except BaseException:  # a timeout's SIGTERM too: the server must not outlive the benchmark
        stop_group(process)
        raise
    return process


def wait_until_healthy(process: subprocess.Popen, port: int, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vllm serve exited {process.returncode}; log tail:\n{log_tail(log)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise TimeoutError(f"vllm serve was not healthy within {seconds:.0f} s; log tail:\n{log_tail(log)}")


def http_path(spec: dict[str, Any], sampling: SamplingConfig, engine: dict[str, int], port: int, logs: Path,
              seconds: float) -> dict[str, Any]:
    """The openai_http backend against `vllm serve`: `chunk` (or a whole set) concurrent requests, as the runner
    sends an HTTP endpoint's max_concurrency items per call."""
    requests = requests_of(spec["sets"], sampling)
    size = spec["chunk"] or len(requests[0])
    arguments = server_args(spec["model"], port, engine)
    command = [*vllm_command(), *arguments]
    with open(logs / "vllm_server.log", "wb") as log:
        server = start_server(command, port, log, seconds)
        try:
            client = http_backend(EndpointSettings(
                backend="openai_http", model=SERVED_NAME, base_url=f"http://127.0.0.1:{port}/v1",
                max_concurrency=size, timeout_s=600, max_retries=0))
            result = timed(lambda index: counted(call_in_chunks(client.generate, requests[index], spec["chunk"])),
                           len(requests))
            client.close()
        finally:
            stop_group(server)
    return {**result, "concurrency": size, "server": " ".join(["vllm", *arguments])}


def attempt(path: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one path; a failure is recorded and the other paths still run (one GPU run should tell all it can)."""
    try:
        return path()
    except Exception as exc:  # any failure of vLLM, the server or the client
        return {"error": f"{type(exc).__name__}: {exc}"}


def versions() -> dict[str, str]:
    found = {}
    for name in ("vllm", "torch", "transformers", "tokenizers", "httpx"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def summary(paths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    bare = paths["bare"].get("tokens_per_s")
    ratios = {name: round(path["tokens_per_s"] / bare, 3) for name, path in paths.items()
              if name != "bare" and bare and "tokens_per_s" in path}
    measured = [(path["tokens_out"], path["tokens_in"]) for path in paths.values() if "tokens_out" in path]
    return {"ratio_to_bare": ratios, "target": f"in_process and http each >= {TARGET} x bare tokens/s",
            "target_met": len(ratios) == 2 and min(ratios.values()) >= TARGET,
            "same_tokens_in_and_out": len(measured) == len(paths) and len(set(measured)) == 1}


def measure(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.budget_s
    remaining = lambda: deadline - time.monotonic()  # noqa: E731
    out = Path(args.out or "bench/out/gpu_vllm_check.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vllm-paths-"))  # the model (2.5 GB) and each phase's result
    try:
        return measure_in(work, args, remaining, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_in(work: Path, args: argparse.Namespace, remaining: Callable[[], float], out: Path) -> int:
    logs = out.parent
    model = work / "model"
    tokenizer = build_model(model, {} if args.tiny else LLAMA_1B)
    sets = workload_sets(args.questions, args.rounds)
    sampling = sampling_config(args.max_tokens)
    spec = {"model": str(model), "sets": sets, "prompts": render(tokenizer, sets), "sampling": sampling.to_dict(),
            "chunk": args.chunk}
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    result: dict[str, Any] = {
        "benchmark": "vLLM: bare LLM.generate vs the in-process VLLMBackend vs openai_http against vllm serve",
        "model": ("random tiny Llama (smoke test)" if args.tiny else
                  "random Llama-3.2-1B-shaped (bf16), the tiny BPE tokenizer padded to its 128256 ids"),
        "workload": (f"{args.questions} AskDocs questions x 6 attributes x 2 directions (v2 prompts) per round,"
                     f" fresh questions each round; 1 warm-up + {args.rounds} timed rounds per path"),
        "sampling": bare_sampling(sampling), "chunk": args.chunk or "a whole round per call",
        "versions": versions(), "work": attempt(lambda: same_work(sets, spec["prompts"], sampling)),
        "paths": {}, "partial": True}
    paths = result["paths"]
    for name in ("bare", "in_process"):
        paths[name] = run_phase(name, spec_path, work, logs, remaining())
        write_result(result, out)  # what is measured so far survives a later timeout
    engine = paths["bare"].get("engine", {})
    paths["http"] = attempt(lambda: http_path(spec, sampling, engine, args.port, logs, remaining()))
    result.update(summary(paths), partial=False, machine=machine())  # machine() opens CUDA: only now
    write_result(result, out)
    return 1 if any("error" in path for path in paths.values()) else 0


def check(args: argparse.Namespace) -> int:
    """CPU: build the workload, render it, and show that the three paths get the same prompts and sampling."""
    from synthesis.tiny_model import build_tokenizer

    with tempfile.TemporaryDirectory(prefix="vllm-paths-tokenizer-") as folder:
        tokenizer = save_tokenizer(Path(folder), LLAMA_1B["vocab_size"])
    sets = workload_sets(args.questions, args.rounds)
    prompts = render(tokenizer, sets)
    plain = build_tokenizer()
    work = same_work(sets, prompts, sampling_config(args.max_tokens))
    work.update(vocab_size=len(tokenizer), last_id_decodes_to=tokenizer.decode([LLAMA_1B["vocab_size"] - 1]),
                padding_keeps_prompt_tokens=all(plain(text)["input_ids"] == tokenizer(text)["input_ids"]
                                                for text in prompts[0]),
                # bare's text prompts are encoded with special tokens, chat()'s rendering without: the same ids
                encoding_adds_no_tokens=all(tokenizer(text)["input_ids"] == tokenizer(
                    text, add_special_tokens=False)["input_ids"] for text in prompts[0]),
                vllm_installed=importlib.util.find_spec("vllm") is not None)
    print(json.dumps(work, indent=2, ensure_ascii=False))
    same = [work[key] for key in ("in_process_sampling_same", "http_sampling_same", "messages_same",
                                  "padding_keeps_prompt_tokens", "encoding_adds_no_tokens")]
    return 0 if all(same) and work["prompts_per_set"] == work["conversations_per_set"] else 1


def phase(args: argparse.Namespace) -> int:
    """One in-process path, in its own process (run_phase starts it)."""
    spec = json.loads(Path(args.spec).read_text())
    sampling = SamplingConfig.from_dict(spec["sampling"])
    code = 0
    try:
        result = (bare_path if args.phase == "bare" else in_process_path)(spec, sampling)
        Path(args.result).write_text(json.dumps(result))
    except Exception:  # the log keeps the traceback; run_phase reports its tail
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip vLLM's shutdown, which can hang at exit; run_phase then ends the engine core with the process group.
    os._exit(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="CPU only: check that the paths get the same work.")
    parser.add_argument("--tiny", action="store_true", help="A random ~100k-parameter model (smoke test).")
    parser.add_argument("--questions", type=int, default=16, help="Questions per round; each gives 12 prompts.")
    parser.add_argument("--rounds", type=int, default=2, help="Timed rounds per path, after one warm-up.")
    parser.add_argument("--max-tokens", type=int, default=256, help="Tokens per reply (every reply this long).")
    parser.add_argument("--chunk", type=int, default=0,
                        help="Items per backend call (the runner's chunk; 0: a whole round in one call).")
    parser.add_argument("--port", type=int, default=18766)
    parser.add_argument("--budget-s", type=float, default=420, help="Wall seconds for all three paths together.")
    parser.add_argument("--out", default="")
    parser.add_argument("--phase", choices=["bare", "in_process"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        return phase(args)
    if args.check:
        return check(args)
    if importlib.util.find_spec("vllm") is None:
        print(f"vllm_paths_bench: vLLM is not importable with {sys.executable}. {MISSING} "
              "bench/gpu_vllm_check.sh installs it from wheels.", file=sys.stderr)
        return EXIT_NO_VLLM
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))  # a timeout still stops the engines (finally blocks)
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
