"""What a padded batch costs in prefill on this CPU: 8 prompts of 600-1,300 tokens as one left-padded batch (the
attention then needs a padding mask) against the same prompts one by one (plain causal attention), in CPU seconds.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/padded_prefill_probe.py
"""

import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from synthesis.backends.transformers_backend import new_cache, use_grouped_query_sdpa

MODEL = Path(__file__).resolve().parent.parent / "var" / "models" / "smollm2-135m-instruct"
LENGTHS = [600, 700, 800, 900, 1000, 1100, 1200, 1300]


def timed(work) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    use_grouped_query_sdpa(model)
    rows = [torch.randint(100, 1000, (n,)).tolist() for n in LENGTHS]
    width = max(LENGTHS)
    ids = torch.tensor([[0] * (width - len(row)) + row for row in rows])
    mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)

    def padded() -> None:
        model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=new_cache(model.config),
              use_cache=True, logits_to_keep=1)

    def one_by_one() -> None:
        for row in rows:
            model(input_ids=torch.tensor([row]), past_key_values=new_cache(model.config), use_cache=True,
                  logits_to_keep=1)

    with torch.inference_mode():
        for name, work in (("padded batch", padded), ("one by one", one_by_one)):
            cpu, wall = timed(work)
            print(f"{name}: {sum(LENGTHS):,} prompt tokens, {cpu:.1f} CPU s, {wall:.1f} s wall")


if __name__ == "__main__":
    main()
