"""The entry every rank of a launched run runs: `accelerate launch ... -m training.launched --run-id N`.

Each rank reads the run's export and trains; rank 0 writes metrics and progress under the launching job's
attempt, prints its log lines (the job streams them into its log), saves and registers the model.
"""

import argparse
import os
from typing import cast


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-id", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
    import django

    django.setup()
    from jobs.models import Job

    from .data import load_run_data
    from .distributed import LaunchedContext
    from .models import TrainingRun
    from .runners import train_here

    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    print(f"rank {rank} of {world_size} started", flush=True)
    run = TrainingRun.objects.select_related("dataset_version__dataset").get(pk=args.run_id)
    job_id = cast(int, run.job_id)  # a launched run was queued as a job
    ctx = LaunchedContext(Job.objects.get(pk=job_id)) if rank == 0 else None
    train, validation, _ = load_run_data(run)
    train_here(run, ctx, train, validation, rank=rank, world_size=world_size)
    print(f"rank {rank} of {world_size} done", flush=True)


if __name__ == "__main__":
    main()
