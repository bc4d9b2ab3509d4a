#!/usr/bin/env bash
# The prepared GPU check of training: TRL DPO on a random-initialised Llama-3.2-1B-shaped model, bf16, sequence
# length 1024 (512 prompt + 512 completion tokens), on CUDA. Records, per variant, tokens/s (steps after the
# warm-up), peak GPU memory and MFU (6 x parameters x tokens/s against the GPU's dense bf16 peak) in
# $OUT/gpu_training_check.json (or bench/out/): TRL's defaults, then the speed options one at a time
# (padding-free, precomputed reference log-probs, Liger kernels where liger_kernel is installed) and all together.
# A variant that fails records its error and the next one runs. Under 8 minutes on an H100/H200.
#
#   bench/gpu_training_check.sh                        # on the GPU machine
#   bench/gpu_training_check.sh --device cpu --tiny    # smoke test of the same script on a CPU
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
DEVICE=cuda
SHAPE=llama-1b
STEPS=16
WARMUP=4
BATCH=8
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --tiny) SHAPE=tiny; STEPS=4; WARMUP=1; BATCH=2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
OUT_DIR=${OUT:-bench/out}
mkdir -p "$OUT_DIR"
if [ "$DEVICE" = cuda ]; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true; fi
export CHECK_DEVICE=$DEVICE CHECK_SHAPE=$SHAPE CHECK_STEPS=$STEPS CHECK_WARMUP=$WARMUP CHECK_BATCH=$BATCH \
  CHECK_OUT="$OUT_DIR/gpu_training_check.json" PYTHONPATH="$PWD:$PWD/platform${PYTHONPATH:+:$PYTHONPATH}"
timeout 460 $PY - <<'PYTHON'
import gc, importlib.util, json, os, platform, random, tempfile, time, traceback

import datasets
import torch
import transformers
import trl
from transformers import TrainerCallback

from synthesis.tiny_model import build_tokenizer, llama_config

DEVICE, SHAPE = os.environ["CHECK_DEVICE"], os.environ["CHECK_SHAPE"]
STEPS, WARMUP, BATCH = (int(os.environ[k]) for k in ("CHECK_STEPS", "CHECK_WARMUP", "CHECK_BATCH"))
CUDA = DEVICE == "cuda"
assert not CUDA or torch.cuda.is_available(), "no CUDA device; run with --device cpu --tiny for a smoke test"
# Llama-3.2-1B: 16 layers, hidden 2048, 32 heads (8 KV), MLP 8192, vocabulary 128256, tied embeddings.
LLAMA_1B = {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
            "num_key_value_heads": 8, "vocab_size": 128256, "rope_theta": 500000.0}
SHAPES = {"llama-1b": LLAMA_1B, "tiny": {}}
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12}  # dense, no sparsity
LENGTH = 1024 if SHAPE == "llama-1b" else 128

tokenizer = build_tokenizer()
words = [w for w in tokenizer.get_vocab() if w.isalpha() and len(w) > 2] or ["note", "fever", "cough"]
rng = random.Random(0)


def text(tokens: int) -> str:
    """Random vocabulary words, cut to exactly `tokens` tokens."""
    ids = tokenizer(" ".join(rng.choice(words) for _ in range(tokens)))["input_ids"][:tokens]
    return tokenizer.decode(ids)


rows = [{"prompt": text(LENGTH // 2), "chosen": text(LENGTH // 2 - 2), "rejected": text(rng.randint(LENGTH // 4,
                                                                                                 LENGTH // 2 - 2))}
        for _ in range(BATCH * (STEPS + 1))]
data = datasets.Dataset.from_list(rows)
folder = tempfile.mkdtemp(prefix="gpu-training-check-")
torch.manual_seed(0)
model = transformers.LlamaForCausalLM(llama_config(tokenizer, **SHAPES[SHAPE]))
params = sum(p.numel() for p in model.parameters())
model.save_pretrained(folder)
tokenizer.save_pretrained(folder)
del model


class Clock(TrainerCallback):
    """Time the steps after the warm-up, and count their tokens (TRL's num_tokens log)."""

    def __init__(self):
        self.marks = []

    def on_step_end(self, args, state, control, **kwargs):
        if CUDA:
            torch.cuda.synchronize()
        self.marks.append((state.global_step, time.perf_counter()))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "num_tokens" in logs:
            self.tokens = getattr(self, "tokens", {})
            self.tokens[state.global_step] = logs["num_tokens"]


def peak_flops() -> float | None:
    if not CUDA:
        return None
    name = torch.cuda.get_device_name(0)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def variant(name: str, **options) -> dict:
    gc.collect()
    if CUDA:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    clock = Clock()
    config = trl.DPOConfig(
        output_dir=tempfile.mkdtemp(prefix="dpo-"), max_steps=STEPS, per_device_train_batch_size=BATCH,
        max_length=LENGTH, learning_rate=5e-7, beta=2.0, bf16=CUDA, use_cpu=not CUDA, logging_steps=1,
        save_strategy="no", report_to="none", disable_tqdm=True, dataloader_num_workers=0, gradient_checkpointing=True,
        model_init_kwargs={"dtype": "float32"}, **options)
    started = time.perf_counter()
    try:
        trainer = trl.DPOTrainer(model=folder, args=config, train_dataset=data, processing_class=tokenizer,
                                 callbacks=[clock])
        trainer.train()
    except Exception as exc:  # a speed option this stack lacks: record it, measure the others
        traceback.print_exc()
        return {"variant": name, "options": options, "error": f"{type(exc).__name__}: {exc}"[:500]}
    (s0, t0), (s1, t1) = clock.marks[WARMUP - 1], clock.marks[-1]
    tokens = clock.tokens.get(s1, 0) - clock.tokens.get(s0, 0)
    rate = tokens / (t1 - t0)
    peak = peak_flops()
    result = {"variant": name, "options": options, "steps_timed": s1 - s0, "tokens": tokens,
              "tokens_per_second": round(rate, 1), "seconds_per_step": round((t1 - t0) / (s1 - s0), 4),
              "wall_seconds_with_setup": round(time.perf_counter() - started, 1),
              "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if CUDA else None,
              "mfu": round(6 * params * rate / peak, 4) if peak else None}
    print(json.dumps(result), flush=True)
    del trainer
    return result


liger = importlib.util.find_spec("liger_kernel") is not None
variants = [("trl-defaults", {}), ("padding-free", {"padding_free": True}),
            ("precompute-ref-log-probs", {"precompute_ref_log_probs": True})]
if liger:
    variants.append(("liger-kernels", {"use_liger_kernel": True}))
variants.append(("all-speed-options", {"padding_free": True, "precompute_ref_log_probs": True,
                                       **({"use_liger_kernel": True} if liger else {})}))
results = [variant(name, **options) for name, options in variants]
base = results[0].get("tokens_per_second")
for result in results:
    if base and result.get("tokens_per_second"):
        result["speedup_vs_defaults"] = round(result["tokens_per_second"] / base, 3)
report = {"check": "gpu_training_check", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
          "shape": SHAPE, "parameters": params, "sequence_length": LENGTH, "batch": BATCH, "steps": STEPS,
          "warmup_steps": WARMUP, "precision": "bf16 autocast, fp32 weights" if CUDA else "fp32",
          "gradient_checkpointing": True, "liger_kernel_installed": liger,
          "machine": {"python": platform.python_version(), "torch": torch.__version__, "trl": trl.__version__,
                      "transformers": transformers.__version__, "cpus": os.cpu_count(),
                      "gpu": torch.cuda.get_device_name(0) if CUDA else None,
                      "load_average_1m": round(os.getloadavg()[0], 2)},
          "peak_bf16_flops": peak_flops(), "results": results}
text_out = json.dumps(report, indent=2)
print(text_out)
with open(os.environ["CHECK_OUT"], "w") as out:
    out.write(text_out + "\n")
PYTHON
