"""Job kinds for tests with real worker processes, which load this module with `celery worker --include`."""

import os
import time

from jobs.runner import job_runner

STEPS_JOB = "test_steps"


@job_runner(STEPS_JOB, label="test steps")
def run_test_steps(ctx):
    """Do params['steps'] items, each stamped with this worker's pid and attempt, resting params['rest'] s after each.

    The rest comes after the step's last write (the progress report), so a test can pause the worker between writes.
    """
    ctx.ensure_items([f"step {n:02d}" for n in range(ctx.params["steps"])])
    ctx.set_total(ctx.params["steps"], unit="steps")
    stamp = {"pid": os.getpid(), "attempt": ctx.job.attempts}
    for item in list(ctx.pending_items()):
        ctx.item_succeeded(item, stamp)
        ctx.advance()
        time.sleep(ctx.params["rest"])
    return stamp
