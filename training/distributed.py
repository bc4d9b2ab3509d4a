"""Multi-process runs: the accelerate configs a run picks (training/accelerate/*.yaml) and their launch from a job.

A run whose config has one process trains in its worker's process. One with more is launched as
`accelerate launch --config_file <preset> -m training.launched --run-id N` (torchrun for CPU processes on one
machine): every rank trains, rank 0 writes
metrics, progress and the registered model; the job streams the launch's output into its log and ends the
process group on a cancel, a lost attempt or a failure.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from django.conf import settings
from django.db import connection
from django.utils import timezone

from alfa_platform.backends import backend
from jobs.runner import PROGRESS_FLUSH_SECONDS, JobContext

PRESETS_DIR = Path(__file__).resolve().parent / "accelerate"
PRESETS = tuple(sorted(path.stem for path in PRESETS_DIR.glob("*.yaml")))
POLL_SECONDS = 1.0


class LaunchError(RuntimeError):
    """The launched processes failed; the message carries the end of their output."""


def preset_path(name: str) -> Path:
    return PRESETS_DIR / f"{name}.yaml"


def preset(name: str) -> dict:
    """Return the accelerate config of a preset, as accelerate reads it (unknown keys refused)."""
    from accelerate.commands.config.config_args import load_config_from_file

    load_config_from_file(str(preset_path(name)))  # raises on a key or value accelerate does not know
    return yaml.safe_load(preset_path(name).read_text())


def preset_processes(name: str) -> int:
    """Return the processes per run over all machines (accelerate's num_processes)."""
    return int(yaml.safe_load(preset_path(name).read_text()).get("num_processes", 1))


def preset_uses_gpu(name: str) -> bool:
    config = yaml.safe_load(preset_path(name).read_text())
    return config.get("distributed_type") not in ("NO", "MULTI_CPU") and not config.get("use_cpu")


def database_url() -> str:
    """Return a DATABASE_URL for the database this process uses (a test database included)."""
    return backend("alfa_platform.sql").database_url(connection.settings_dict)


def free_port() -> int:
    """Return a free local port, so two single-machine runs on one worker host never share a rendezvous."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_command(name: str, run_id: int) -> list[str]:
    """Return the launch of a preset: accelerate's, or torchrun's for CPU processes on one machine (accelerate
    starts several CPU processes only through MPI, and torchrun is what its GPU launcher runs)."""
    config = preset(name)
    port = ["--main_process_port", str(free_port())] if int(config.get("num_machines", 1)) == 1 else []
    entry = ["-m", "training.launched", "--run-id", str(run_id)]
    if config.get("distributed_type") == "MULTI_CPU" and int(config.get("num_machines", 1)) == 1:
        return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(config["num_processes"]),
                "--master_addr", "127.0.0.1", "--master_port", port[1], *entry]
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(preset_path(name)), *port,
            *entry]


def launch_env() -> dict:
    """The worker's environment, with this process's database, folders and import path (tests override them)."""
    return {**os.environ, "DATABASE_URL": database_url(), "ALFA_VAR_DIR": str(settings.VAR_DIR),
            "ALFA_MODELS_DIR": str(settings.MODELS_DIR), "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                                                "alfa_platform.settings")}


def stop_group(process: subprocess.Popen) -> None:
    """End every rank: SIGTERM to the process group, SIGKILL after a grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def run_launched(name: str, run_id: int, ctx: JobContext) -> None:
    """Launch the run's processes and wait; their output goes into the job log; a cancel ends them all."""
    command = launch_command(name, run_id)
    shown_command = " ".join(part.removeprefix(str(settings.BASE_DIR) + "/") for part in command[1:])
    ctx.log(f"launching {preset_processes(name)} processes ({name}): python {shown_command}")
    process = subprocess.Popen(command, env=launch_env(), cwd=settings.BASE_DIR, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    stdout = process.stdout
    assert stdout is not None  # stdout=PIPE
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")), daemon=True)
    reader.start()
    shown = 0
    try:
        while True:
            finished = process.poll() is not None
            if finished:
                reader.join()
            for line in lines[shown:]:
                ctx.note(line.rstrip())
            shown = len(lines)
            # Rank 0 writes the progress; this flush writes the log, so it must carry that progress, not its own.
            ctx.job.refresh_from_db(fields=["progress_done", "progress_total", "progress_unit"])
            ctx.flush(force=True)  # raises JobCancelled / JobSuperseded, which end the group below
            if finished:
                break
            reader.join(POLL_SECONDS)
    finally:
        stop_group(process)
    if process.returncode != 0:
        tail = "\n".join(line.rstrip() for line in lines[-20:])
        raise LaunchError(f"accelerate launch exited with {process.returncode}:\n{tail}")


class LaunchedContext(JobContext):
    """Rank 0's view of the launching job: progress written under the job's attempt (so a cancel or a lost
    attempt stops it), log lines printed, which the launching job streams into the log."""

    def note(self, message: object) -> None:
        print(message, flush=True)

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (not self._dirty or now - self._last_flush < PROGRESS_FLUSH_SECONDS):
            return
        self._last_flush, self._dirty = now, False
        written = self.attempt.job_row().update(
            progress_done=self.job.progress_done, progress_total=self.job.progress_total,
            progress_unit=self.job.progress_unit, heartbeat_at=timezone.now())
        if not written:
            raise self.attempt.superseded()
        self.check_cancelled()
