"""Shared pieces of the synthesis benchmarks: real AskDocs prompts rendered with the v1 templates, machine facts."""

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from synthesis.contexts import format_turns  # noqa: E402


def _load_catalogues():
    """Load the prompt catalogues by path: importing synthesis.prompts would import Django, absent on the GPU box."""
    import importlib.util
    import types

    package = types.ModuleType("synthesis.prompts")  # a bare package, so v2's relative import of v1 resolves
    package.__path__ = [str(ROOT / "synthesis" / "prompts")]
    sys.modules.setdefault("synthesis.prompts", package)
    modules = {}
    for version in (1, 2):
        name = f"synthesis.prompts.catalogue_v{version}"
        spec = importlib.util.spec_from_file_location(name, ROOT / "synthesis" / "prompts" / f"catalogue_v{version}.py")
        modules[version] = sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[version])
    return modules


CATALOGUES = _load_catalogues()
catalogue_v1 = CATALOGUES[1]
ATTRIBUTE_KEYS = ["clarity", "focus", "answerability", "accuracy", "relevance", "avoidbias"]

SHARED = Path(os.environ.get("ALFA_SHARED_DATA_DIR", ROOT.parent / "shared" / "data"))
SMOLLM2 = ROOT / "var" / "models" / "smollm2-135m-instruct"


def askdocs_records(limit):
    path = SHARED / "askdocs" / "test_q.jsonl"
    records = []
    with open(path) as handle:
        for line in handle:
            records.append(json.loads(line))
            if len(records) == limit:
                break
    return records


def rewrite_messages(record, attribute_key, direction, catalogue=2):
    """Render a rewrite prompt of the given catalogue version for one AskDocs question, as a synthesis item does."""
    attribute = next(a for a in catalogue_v1.ATTRIBUTES if a["key"] == attribute_key)
    scale = "\n".join(f"{i}. {level}" for i, level in enumerate(attribute["scale"], start=1))
    values = {"title": record["title"], "post": record["post"][:1200], "question": record["question"],
              "previous_turns": format_turns([]), "attribute_name": attribute["name"],
              "definition": attribute["definition"], "scale": scale, "guidance": attribute["guidance"],
              "final_diagnosis": record.get("final_diagnosis") or "Not recorded",
              "conclusion": record.get("conclusion") or "Not recorded"}
    prompts = CATALOGUES[catalogue]
    user = prompts.CORRUPT_USER if direction == "corrupt" else prompts.ENHANCE_HINDSIGHT_USER
    return [{"role": "system", "content": catalogue_v1.REWRITE_SYSTEM},
            {"role": "user", "content": user.format_map(values)}]


def synthesis_workload(questions, catalogue=2):
    """Return the messages of a synthesis job's rewrite items: questions x six attributes x two directions."""
    return [rewrite_messages(record, key, direction, catalogue) for record in askdocs_records(questions)
            for key in ATTRIBUTE_KEYS for direction in ("enhance_hindsight", "corrupt")]


def machine():
    import torch

    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "load_average_1m": round(os.getloadavg()[0], 2)}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_result(result, out):
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
