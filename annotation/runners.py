"""Background work of the annotation app, registered with the jobs framework."""

from typing import Any

from jobs.runner import JobContext, job_runner

from .models import Campaign
from .pairs import PairSelection, do_add_synthesis_pairs, pairs_to_add
from .quality import QUALITY_JOB, refresh_quality

ADD_PAIRS_JOB = "annotation_add_pairs"


@job_runner(QUALITY_JOB, label="annotation quality refresh")
def run_quality_refresh(ctx: JobContext) -> dict[str, Any]:
    """Recompute a campaign's dashboard snapshot from its current judgments."""
    campaign = Campaign.objects.get(pk=ctx.params["campaign"])
    ctx.set_total(1, unit="snapshots")
    snapshot = refresh_quality(campaign, ctx.params.get("attribute") or None)
    ctx.advance()
    return {"judgments": snapshot.judgments, "seconds": round(snapshot.seconds, 3), "version": snapshot.version}


@job_runner(ADD_PAIRS_JOB, label="add synthesis pairs to a campaign")
def run_add_pairs(ctx: JobContext) -> dict[str, int]:
    """Snapshot the selected synthesis pairs into a campaign's items."""
    campaign = Campaign.objects.get(pk=ctx.params["campaign"])
    selection = PairSelection(**ctx.params["selection"])
    ctx.set_total(pairs_to_add(campaign, selection).count(), unit="pairs")
    added = do_add_synthesis_pairs(campaign, selection, progress=ctx.advance)
    return {"added": added, "items": campaign.item_count}
