"""CI smoke: queue an import of the shared test questions and wait for the real worker to finish it."""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
django.setup()

from django.conf import settings  # noqa: E402

from corpus.actions import do_enqueue_import  # noqa: E402
from corpus.models import Post, Question, Thread  # noqa: E402
from jobs.models import Job, JobStatus  # noqa: E402

job = do_enqueue_import([settings.SHARED_DATA_DIR / "askdocs" / "test_q.jsonl"], format=None, split="test", owner=None)
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    job = Job.objects.get(pk=job.pk)
    if job.is_finished:
        break
    time.sleep(0.5)
counts = (Question.objects.count(), Thread.objects.count(), Post.objects.count())
print(f"job {job.pk}: {job.status}, {job.progress_done}/{job.progress_total} {job.progress_unit}; counts {counts}")
if job.status != JobStatus.SUCCEEDED or counts != (620, 302, 192):
    print(job.error, job.traceback, job.log_tail, sep="\n")
    sys.exit(1)
