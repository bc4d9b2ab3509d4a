"""Which rewrites form pairs: triples of (original, enhanced, corrupted) per question, attribute and generator."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from django.db.models import QuerySet

from .configs import PairConfig, VerificationConfig
from .models import Direction, PairType, Rewrite


@dataclass
class Triple:
    original: Rewrite
    enhanced: Rewrite | None
    corrupted: Rewrite | None

    @property
    def is_complete(self) -> bool:
        return self.enhanced is not None and self.corrupted is not None

    def pair_members(self) -> Iterator[tuple[PairType, Rewrite, Rewrite]]:
        """Yield (pair_type, chosen, rejected) for every pair the available texts allow."""
        if self.enhanced and self.corrupted:
            yield PairType.ENHANCED_CORRUPTED, self.enhanced, self.corrupted
        if self.enhanced:
            yield PairType.ENHANCED_ORIGINAL, self.enhanced, self.original
        if self.corrupted:
            yield PairType.ORIGINAL_CORRUPTED, self.original, self.corrupted


def select_triples(config: PairConfig | VerificationConfig,
                   rewrites: QuerySet[Rewrite] | None = None) -> list[Triple]:
    """Return Triples grouped by (original, attribute, generator); the newest rewrite wins within a direction."""
    rewrites = rewrites if rewrites is not None else Rewrite.objects.all()
    rewrites = rewrites.filter(
        attribute__isnull=False, direction__in=[config.enhanced_direction, Direction.CORRUPT]
    ).select_related("source__question__thread__post", "attribute", "question")
    if config.attributes:
        rewrites = rewrites.filter(attribute__key__in=config.attributes)
    if config.qids:
        rewrites = rewrites.filter(question__qid__in=config.qids)
    if config.generator_model:
        rewrites = rewrites.filter(model_name=config.generator_model)
    groups: defaultdict[tuple[int | None, int | None, str], dict[str, Rewrite]] = defaultdict(dict)
    for rewrite in rewrites.order_by("created_at", "pk"):
        groups[(rewrite.source_id, rewrite.attribute_id, rewrite.generator_key)][rewrite.direction] = rewrite
    return [
        # a rewrite of an attribute always has its source (the normalized original)
        Triple(original=cast(Rewrite, found_any.source), enhanced=by_direction.get(config.enhanced_direction),
               corrupted=by_direction.get(Direction.CORRUPT))
        for by_direction in groups.values()
        for found_any in [next(iter(by_direction.values()))]
    ]
