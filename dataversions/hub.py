"""Push a finished export to a Hugging Face Hub dataset repository (needs HF_TOKEN and a network)."""

import os
from pathlib import Path

from django.conf import settings

from .models import DatasetExport, ExportStatus


class HubError(Exception):
    """The push cannot happen: no token, no network, or the Hub refused it."""


def push_export(export: DatasetExport, repo_id: str, private: bool = True) -> str:
    """Upload an export's folder to `repo_id` (a dataset repository) and return its URL."""
    if export.status != ExportStatus.DONE:
        raise HubError(f"The export is {export.status}; only a finished export can be pushed.")
    token = os.environ.get("HF_TOKEN", "")
    if not token:
        raise HubError("Set HF_TOKEN in the environment to push to the Hugging Face Hub.")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=Path(settings.VAR_DIR) /
                                 export.folder, commit_message=f"{export.version} ({export.format})")
    except OfflineModeIsEnabled as exc:
        raise HubError("The Hugging Face Hub cannot be reached: offline mode is on (HF_HUB_OFFLINE=1).") from exc
    except (HfHubHTTPError, OSError) as exc:
        raise HubError(f"The Hugging Face Hub refused or could not be reached: {exc}") from exc
    return str(getattr(info, "repo_url", "") or f"https://huggingface.co/datasets/{repo_id}")
