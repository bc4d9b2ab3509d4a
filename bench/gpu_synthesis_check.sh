#!/usr/bin/env bash
# The prepared GPU check: the synthesis batching benchmark on a random-initialised Llama-3.2-1B-shaped model,
# transformers backend, on CUDA; records items/s and tokens/s (batched with prefix sharing, batched plain, and one
# prompt at a time) in $OUT/gpu_synthesis_check.json (or bench/out/). Under 5 minutes on an H100.
#
#   bench/gpu_synthesis_check.sh                    # on the GPU machine (python3 there holds torch + transformers)
#   bench/gpu_synthesis_check.sh --device cpu --tiny   # smoke test of the same script on a CPU
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
DEVICE=cuda
MODEL=--llama-1b
QUESTIONS=8   # 96 rewrite items
BATCH=48
TOKENS=96
SEQUENTIAL=16 # one-at-a-time is timed on 16 items: ~2-3 s each on a GPU through HF generate()
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --tiny) MODEL=--tiny; QUESTIONS=1; BATCH=12; TOKENS=8; SEQUENTIAL=4; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
OUT_DIR=${OUT:-bench/out}
mkdir -p "$OUT_DIR"
if [ "$DEVICE" = cuda ]; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true; fi
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
timeout 280 $PY bench/synthesis_batch_bench.py $MODEL --device "$DEVICE" --questions $QUESTIONS --batch $BATCH \
  --max-tokens $TOKENS --sequential-items $SEQUENTIAL --rounds 1 --out "$OUT_DIR/gpu_synthesis_check.json"
