"""The prepared vLLM check (bench/vllm_paths_bench.py) without a GPU: the same work for each path, a clear refusal."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "vllm_paths_bench.py"
# vLLM hidden, so the tests mean the same on a GPU host where it is installed.
WITHOUT_VLLM = ("import runpy, sys; sys.modules['vllm'] = None; sys.argv = {argv!r}\n"
                "runpy.run_path({path!r}, run_name='__main__')")


def run_bench(*args: str) -> subprocess.CompletedProcess:
    code = WITHOUT_VLLM.format(argv=[str(BENCH), *args], path=str(BENCH))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_three_paths_get_the_same_prompts_and_sampling() -> None:
    result = run_bench("--check", "--questions", "1", "--rounds", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    work = json.loads(result.stdout)
    assert work["in_process_sampling_same"] and work["http_sampling_same"] and work["messages_same"]
    assert work["sampling"]["min_tokens"] == work["sampling"]["max_tokens"]  # every path generates max_tokens
    assert work["prompts_per_set"] == work["conversations_per_set"] == [12, 12]  # warm-up, one timed round
    assert work["vocab_size"] == 128256 and work["last_id_decodes_to"].strip()  # a random model's ids all decode
    assert work["padding_keeps_prompt_tokens"] and work["encoding_adds_no_tokens"]
    assert work["vllm_installed"] is False


def test_it_says_that_vllm_is_missing_and_exits_3() -> None:
    result = run_bench("--questions", "1", "--rounds", "1")
    assert result.returncode == 3
    assert "vLLM is not importable" in result.stderr and "GPU-only extra" in result.stderr


def test_the_benchmark_prompts_build_where_django_is_not_installed() -> None:
    """GPU machines have no Django: the benches' prompt module must not import the ORM (through synthesis.contexts)."""
    code = ("import sys; sys.modules.update(django=None, rest_framework=None); sys.path.insert(0, 'bench')\n"
            "from synthesis_common import synthesis_workload\n"
            "print(len(synthesis_workload(1)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.stdout.strip() == "12", result.stderr[-2000:]
