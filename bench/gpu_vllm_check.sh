#!/usr/bin/env bash
# The prepared vLLM check (issue 15): the synthesis rewrite prompts on a random Llama-3.2-1B-shaped model through bare
# vLLM (LLM.generate), the platform's in-process VLLMBackend and its openai_http backend against `vllm serve`, the
# same prompts, sampling and tokens on each; records tokens/s of each and the two platform paths' ratios to bare
# (target: >= 0.9) in $OUT/gpu_vllm_check.json (or bench/out/), with each engine's log beside it. Under 8 minutes.
#
#   bench/gpu_vllm_check.sh            # on the GPU machine
#   bench/gpu_vllm_check.sh --check    # any machine, no GPU or vLLM needed: the three paths get the same work
#
# Where vLLM comes from: python3's own if it imports (a gpu-worker image, requirements-gpu.txt). Otherwise it is
# installed into a scratch venv (/tmp/vllm-env, over python3's packages, which give transformers and httpx) with pip
# from the wheels in $VLLM_WHEELS (default .whl/) and nothing else, since the GPU machine reaches no registry. Fill
# that folder where pip works, for the GPU machine's Python (3.12 there):
#   pip download --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 -d .whl \
#     vllm==0.33.0 django==5.2.19
# vllm pins its own CUDA torch (2.14.0), so the folder holds torch and the other needs too: several GB, where the
# lent device machine carries 64 MiB a call (vllm's wheel alone is 336 MB), so there this script says vLLM is
# missing and exits 3. Django is for the HTTP backend only (synthesis.secrets imports it): without it that path
# records an error and the other two still run. The project is not installed: the benchmarks put the repository on
# sys.path (and pyproject.toml asks for Python 3.11, not the GPU machine's 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
LIMIT=470                        # seconds for the whole script: under 8 minutes, with room for the shutdown
WHEELS=${VLLM_WHEELS:-.whl}
ENV_DIR=${VLLM_ENV:-/tmp/vllm-env}
VLLM_PIN=$(grep '^vllm==' requirements-gpu.txt)
DJANGO_PIN=$(grep '^django==' requirements-gpu.txt)
OUT_DIR=${OUT:-bench/out}
PY=${VLLM_PYTHON:-python3}   # an environment that holds vLLM already, if any
if [ "${1:-}" = --check ]; then
  [ -x .venv/bin/python ] && PY=.venv/bin/python
  exec timeout 300 $PY bench/vllm_paths_bench.py --check --questions 1 --rounds 1
fi
[ $# -eq 0 ] || { echo "unknown option $1" >&2; exit 2; }
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if ! $PY -c "import vllm" 2>/dev/null; then
  if ! ls "$WHEELS"/vllm-*.whl >/dev/null 2>&1; then
    echo "gpu_vllm_check: vLLM is not importable with $PY and $WHEELS/ holds no vllm wheel: nothing measured." >&2
    echo "gpu_vllm_check: put $VLLM_PIN and the wheels it needs there (see this script's header), or run it" \
         "where vLLM is installed." >&2
    exit 3
  fi
  # --without-pip: the venv runs python3's own pip, so no ensurepip is needed; pip installs into the venv.
  [ -x "$ENV_DIR/bin/python" ] || python3 -m venv --system-site-packages --without-pip "$ENV_DIR"
  PY=$ENV_DIR/bin/python
  timeout 150 $PY -m pip install -q --no-index --find-links "$WHEELS" "$VLLM_PIN" \
    $(ls "$WHEELS"/[Dd]jango-*.whl >/dev/null 2>&1 && echo "$DJANGO_PIN")
fi
$PY -c "import django" 2>/dev/null || echo "gpu_vllm_check: no Django for $PY: the HTTP path will record an error" >&2
$PY -c "import torch, transformers, vllm; print('vllm', vllm.__version__, 'torch', torch.__version__,
'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
LEFT=$((LIMIT - SECONDS))
timeout -k 20 $LEFT $PY bench/vllm_paths_bench.py --budget-s $((LEFT - 30)) --out "$OUT_DIR/gpu_vllm_check.json"
