"""Read-only summaries for leads: acceptance rates per attribute x pair type, and a synthesis job's output."""

from collections import Counter
from typing import Any

from django.db.models import Count, QuerySet, Sum

from jobs.models import Job

from .models import Attribute, PairType, PreferencePair, Rewrite, Verdict


def acceptance_table(pairs: QuerySet[PreferencePair] | None = None) -> list[dict[str, Any]]:
    """Return rows per attribute with, per pair type, accepted/rejected/unverified counts and the acceptance rate."""
    pairs = pairs if pairs is not None else PreferencePair.objects.all()
    counts: Counter[tuple[int, str, str]] = Counter()
    for row in pairs.order_by().values("attribute_id", "pair_type", "verdict").annotate(n=Count("id")):
        counts[(row["attribute_id"], row["pair_type"], row["verdict"])] += row["n"]
    rows: list[dict[str, Any]] = []
    for attribute in Attribute.objects.all():
        cells = [acceptance_cell(counts, attribute.pk, pair_type) for pair_type in PairType.values]
        if any(cell["total"] for cell in cells):
            rows.append({"attribute": attribute, "cells": cells, "overall": merge_cells(cells)})
    return rows


def acceptance_cell(counts: Counter[tuple[int, str, str]], attribute_id: int, pair_type: str) -> dict[str, Any]:
    accepted = counts[(attribute_id, pair_type, Verdict.ACCEPTED)]
    rejected = counts[(attribute_id, pair_type, Verdict.REJECTED)]
    unverified = counts[(attribute_id, pair_type, Verdict.UNVERIFIED)]
    judged = accepted + rejected
    return {"pair_type": pair_type, "accepted": accepted, "rejected": rejected, "unverified": unverified,
            "total": judged + unverified, "rate": round(100 * accepted / judged, 1) if judged else None}


def merge_cells(cells: list[dict[str, Any]]) -> dict[str, Any]:
    accepted = sum(c["accepted"] for c in cells)
    judged = accepted + sum(c["rejected"] for c in cells)
    return {"accepted": accepted, "rejected": judged - accepted, "unverified": sum(c["unverified"] for c in cells),
            "rate": round(100 * accepted / judged, 1) if judged else None}


def acceptance_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return Chart.js data: attributes on the x axis, one dataset (acceptance %) per pair type."""
    return {
        "labels": [row["attribute"].name for row in rows],
        "datasets": [
            {"label": label, "data": [row["cells"][index]["rate"] for row in rows]}
            for index, (_value, label) in enumerate(PairType.choices)
        ],
    }


def synthesis_summary(job: Job) -> dict[str, Any]:
    """Return what a synthesis job wrote: rewrites per attribute x direction, tokens and latency."""
    rewrites = Rewrite.objects.filter(job=job)
    grid = list(rewrites.order_by().values("attribute__key", "direction").annotate(
        n=Count("id"), tokens_out=Sum("tokens_out")).order_by("attribute__key", "direction"))
    totals = rewrites.aggregate(n=Count("id"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"),
                                latency=Sum("latency_ms"))
    return {"grid": grid, "totals": totals, "models": sorted(set(rewrites.values_list("model_name", flat=True)))}
