"""Compare two versions by row content: rows added, removed and kept, and how the counts moved."""

from collections.abc import Mapping

from .models import DatasetVersion

SAMPLE = 20


def diff_versions(old: DatasetVersion, new: DatasetVersion) -> dict:
    """Return what changed from `old` to `new` (rows compared by their canonical hash)."""
    old_hashes = set(old.rows.values_list("row_hash", flat=True))
    new_hashes = set(new.rows.values_list("row_hash", flat=True))
    added, removed = new_hashes - old_hashes, old_hashes - new_hashes

    def sample(version: DatasetVersion, hashes: set[str]) -> list[Mapping[str, object]]:
        rows = version.rows.filter(row_hash__in=list(hashes)[:SAMPLE]).order_by("position")
        return list(rows.values("position", "row_id", "split", "attribute", "pair_type"))

    counts = {}
    for name in ("split", "attribute", "pair_type"):
        keys = sorted(set(old.counts.get(name, {})) | set(new.counts.get(name, {})))
        counts[name] = {key: [old.counts.get(name, {}).get(key, 0), new.counts.get(name, {}).get(key, 0)]
                        for key in keys}
    return {"old": old.pk, "new": new.pk, "added": len(added), "removed": len(removed),
            "kept": len(new_hashes & old_hashes), "same_content": old.content_hash == new.content_hash,
            "added_sample": sample(new, added), "removed_sample": sample(old, removed), "counts": counts}
