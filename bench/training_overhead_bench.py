"""CPU benchmark: the platform's DPO run (through execute_job, as a worker runs it) against a bare TRL script.

    nice -n 10 .venv/bin/python bench/training_overhead_bench.py            # SmolLM2-135M, 20 steps, 2 rounds
    .venv/bin/python bench/training_overhead_bench.py --tiny --steps 2 --rounds 1   # smoke test (tiny model)

A fresh SQLite database and var folder in a temporary directory; a small pair corpus (clarity triples) frozen into
a dataset version and exported once. Each round runs, alternating which goes first, (a) a platform run: a
TrainingRun queued by do_create_training_run and run by jobs.runner.execute_job (metrics rows, progress, log,
checkpoints, registration), and (b) a bare TRL script: DPOTrainer on the same rows with the same DPOConfig
(training.trainers.trl_config of the same run) and no callbacks. tokens/s = TRL's num_tokens at the last step /
train_runtime (the training loop, callbacks included); the end-to-end wall time (model load, save, register) is
reported beside it. Target: the platform's training-loop overhead under 5%. Writes bench/results/
training_overhead.json.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOLLM2 = ROOT / "var" / "models" / "smollm2-135m-instruct"
RENDERING = "thread-nosys-v1"
AGREEING = {"enhanced": 1, "original": 2, "corrupted": 3}


def setup(folder: Path) -> None:
    os.environ.update(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", ALFA_VAR_DIR=str(folder),
                      ALFA_MODELS_DIR=str(folder / "models"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                      TOKENIZERS_PARALLELISM="false")
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_version(questions: int):
    """Freeze clarity triples of `questions` train questions into a ready preference version."""
    from corpus.models import Split
    from dataversions.actions import do_create_version
    from jobs.runner import run_job_here
    from tests.synthesis.conftest import make_question
    from tests.synthesis.helpers import make_triple

    for number in range(1, questions + 1):
        make_triple(make_question(number, split=Split.TRAIN, turns=number % 2), "clarity", ranks=AGREEING)
    version = do_create_version("bench-pairs", {"kind": "preference", "verdict": "unfiltered",
                                                "rendering": RENDERING})
    run_job_here(version.job)
    version.refresh_from_db()
    return version


def platform_run(version, model: Path, config: dict, n: int) -> dict:
    from jobs.runner import execute_job
    from training.actions import do_create_training_run
    from training.models import TrainedModel

    started = time.perf_counter()
    run = do_create_training_run("dpo", version, str(model), config=config, name=f"bench-{n}")
    execute_job(run.job.pk, run.job.version)
    metrics = TrainedModel.objects.get(run=run).final_metrics
    return {"side": "platform", "tokens": metrics["num_tokens"], "train_runtime": metrics["train_runtime"],
            "tokens_per_second": metrics["num_tokens"] / metrics["train_runtime"],
            "wall_seconds": time.perf_counter() - started, "steps": metrics["global_step"]}


def bare_run(version, model: Path, config: dict, folder: Path) -> dict:
    """What a script calling TRL directly does: the same rows, the same DPOConfig, no platform callbacks."""
    from transformers import AutoTokenizer
    from trl import DPOTrainer

    from training.data import load_run_data
    from training.models import TrainingRun
    from training.trainers import trl_config

    started = time.perf_counter()
    run = TrainingRun(method="dpo", base_model=str(model), base_model_path=str(model), dataset_version=version,
                      config=config)
    train, _, _ = load_run_data(run)
    tokenizer = AutoTokenizer.from_pretrained(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer = DPOTrainer(model=str(model), args=trl_config(run, folder, has_eval=False), train_dataset=train,
                         processing_class=tokenizer)
    output = trainer.train()
    trainer.save_model(str(folder / "final"))
    tokens = [log["num_tokens"] for log in trainer.state.log_history if "num_tokens" in log][-1]
    runtime = output.metrics["train_runtime"]
    return {"side": "bare-trl", "tokens": tokens, "train_runtime": runtime, "tokens_per_second": tokens / runtime,
            "wall_seconds": time.perf_counter() - started, "steps": trainer.state.global_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="The tiny offline model instead of SmolLM2-135M.")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "training_overhead.json"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="training-bench-"))
    setup(folder)
    import torch

    if args.tiny:
        from synthesis.tiny_model import build_tiny_model

        model = folder / "tiny"
        build_tiny_model(model)
    else:
        model = SMOLLM2
    version = make_version(args.questions)
    # The authors' DPO options, but a per-step batch of 1 and no evaluation, so 20 steps stay minutes on a CPU.
    config = {"max_steps": args.steps, "global_batch_size": 0, "per_device_train_batch_size": 1,
              "gradient_accumulation_steps": 1, "max_length": 512, "gradient_checkpointing": False,
              "eval_steps": 0, "precision": "fp32", "learning_rate": 5e-7}
    results = []
    for n in range(args.rounds):
        sides = ["platform", "bare"] if n % 2 == 0 else ["bare", "platform"]
        for side in sides:
            result = (platform_run(version, model, config, n) if side == "platform"
                      else bare_run(version, model, config, folder / f"bare-{n}"))
            result["round"] = n
            print(json.dumps(result), flush=True)
            results.append(result)
    rate = {side: sum(r["tokens_per_second"] for r in results if r["side"] == side) / args.rounds
            for side in ("platform", "bare-trl")}
    report = {
        "bench": "training_overhead", "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "model": "tiny" if args.tiny else "SmolLM2-135M-Instruct", "steps": args.steps, "rounds": args.rounds,
        "config": config, "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                      "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                                      "load_average_1m": round(os.getloadavg()[0], 2), "nice": os.nice(0)},
        "tokens_per_second": {k: round(v, 1) for k, v in rate.items()},
        "overhead_percent": round(100 * (1 - rate["platform"] / rate["bare-trl"]), 2), "target_percent": 5,
        "results": results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
