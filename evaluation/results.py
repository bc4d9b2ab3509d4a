"""Results read from stored runs: interactive metrics and error reduction, the leaderboard, and exports."""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from .expert import expert_check_metrics, expert_items
from .interactive import case_scores, run_metrics
from .models import EvaluationRun, RunKind
from .statistics import paired_error_reduction
from .winrate import HUMAN, bradley_terry_table


def episode_rows(run: EvaluationRun) -> list[dict]:
    return [episode.as_metrics_row() for episode in run.episodes.order_by("repeat", "item__position")]


def error_reduction_between(run: EvaluationRun, baseline: EvaluationRun, seed: int = 0) -> dict:
    """Return the diagnostic error reduction of `run` against `baseline` on the cases both ran, with a paired
    bootstrap interval; each case counts by its share of correct repeats."""
    model, base = case_scores(episode_rows(run)), case_scores(episode_rows(baseline))
    shared = sorted(set(model) & set(base))
    estimate = paired_error_reduction([base[c] for c in shared], [model[c] for c in shared], seed=seed)
    return {**estimate.as_dict(), "baseline_run": baseline.pk, "baseline_model": baseline.model_name,
            "baseline_accuracy": (sum(base[c] for c in shared) / len(shared)) if shared else None}


def interactive_metrics(run: EvaluationRun) -> dict:
    config = run.config
    metrics = run_metrics(episode_rows(run), config["max_questions"], seed=config.get("seed", 0))
    if run.baseline is not None and run.baseline.is_finished:
        metrics["error_reduction"] = error_reduction_between(run, run.baseline, seed=config.get("seed", 0))
    return metrics


# Leaderboard ----------------------------------------------------------------------------------------------------

def lineage(run: EvaluationRun) -> dict:
    """Return where the evaluated model comes from: its endpoint and, for a model trained here, the training run,
    the dataset version it was trained on and the trained model's page."""
    from django.core.exceptions import ObjectDoesNotExist

    endpoint = run.endpoint
    if endpoint is None:
        return {"model": run.model_name}
    found: dict[str, Any] = {"endpoint": endpoint.name, "backend": endpoint.backend, "model": endpoint.model}
    try:
        trained = endpoint.trained_model
    except ObjectDoesNotExist:
        return found
    found.update(trained_model=trained.name, trained_model_url=trained.get_absolute_url(),
                 training_run=trained.run_id, dataset_version=trained.dataset_version_id,
                 dataset_hash=trained.dataset_hash[:12])
    return found


def winrate_column(run: EvaluationRun) -> str:
    column = f"vs {run.reference_name}"
    return f"{column} · {run.attribute}" if run.attribute else column


def latest_finished(kind: str) -> dict[tuple[str, str], EvaluationRun]:
    """Return the newest finished run of each (model, column) of a kind."""
    runs = EvaluationRun.objects.filter(kind=kind, finished_at__isnull=False).select_related(
        "endpoint__trained_model", "case_set", "baseline").order_by("-finished_at", "-pk")
    latest: dict[tuple[str, str], EvaluationRun] = {}
    for run in runs:
        if kind == RunKind.INTERACTIVE:
            assert run.case_set is not None  # an interactive run evaluates a case set
            column = run.case_set.name
        else:
            column = winrate_column(run)
        latest.setdefault((run.model_name, column), run)
    return latest


def latest_expert_checks() -> list[EvaluationRun]:
    """Return the newest expert check of each (model, reference)."""
    latest: dict[tuple[str, str], EvaluationRun] = {}
    for run in EvaluationRun.objects.filter(kind=RunKind.EXPERT_CHECK).select_related(
            "endpoint__trained_model").order_by(
            "-created_at", "-pk"):
        latest.setdefault((run.model_name, run.reference_name), run)
    return list(latest.values())


def interactive_cell(run: EvaluationRun, baseline: EvaluationRun | None) -> dict:
    metrics = run.metrics
    reduction = metrics.get("error_reduction")
    if baseline is not None and baseline.pk != run.pk:
        reduction = error_reduction_between(run, baseline, seed=run.config.get("seed", 0))
    return {"run": run.pk, "correct": metrics.get("correct"), "cases": metrics.get("cases"),
            "accuracy": metrics.get("accuracy"), "accuracy_ci": metrics.get("accuracy_ci"),
            "accuracy_mean": metrics.get("accuracy_mean"), "repeats": metrics.get("repeats"),
            "timeout_rate": metrics.get("timeout_rate"), "mean_questions": metrics.get("mean_questions"),
            "curve": metrics.get("curve"), "error_reduction": reduction}


def leaderboard(baseline: EvaluationRun | None = None) -> dict:
    """Return {columns, rows, bradley_terry}: every evaluated model with its newest win-rates (judge) and
    interactive accuracy per case set, error reduction against `baseline` (else each run's own baseline)."""
    rows: defaultdict[str, dict[str, dict]] = defaultdict(lambda: {"winrate": {}, "interactive": {}, "lineage": {}})
    winrate_runs = latest_finished(RunKind.WINRATE)
    for (model, column), run in winrate_runs.items():
        rows[model]["winrate"][column] = {"run": run.pk, "win_rate": run.metrics.get("win_rate"),
                                          "ci": run.metrics.get("win_rate_ci"), "judge": run.judge_name,
                                          "items": run.metrics.get("items_scored")}
        rows[model]["lineage"] = rows[model]["lineage"] or lineage(run)
    for (model, column), run in latest_finished(RunKind.INTERACTIVE).items():
        rows[model]["interactive"][column] = interactive_cell(run, baseline)
        rows[model]["lineage"] = lineage(run)
    for run in latest_expert_checks():
        metrics = expert_check_metrics(run)
        if metrics["items_judged"]:
            rows[run.model_name]["winrate"][f"expert vs {run.reference_name}"] = {
                "run": run.pk, "win_rate": metrics["expert_win_rate"], "ci": metrics["expert_win_rate_ci"],
                "judge": "physicians", "items": metrics["items_judged"], "kappa": metrics["judge_expert_kappa"]}
            rows[run.model_name]["lineage"] = rows[run.model_name]["lineage"] or lineage(run)
    overall = [run for (_model, column), run in winrate_runs.items() if " · " not in column]
    return {
        "columns": {"winrate": sorted({c for row in rows.values() for c in row["winrate"]}),
                    "interactive": sorted({c for row in rows.values() for c in row["interactive"]})},
        "rows": [{"model": model, **row} for model, row in sorted(rows.items())],
        "bradley_terry": bradley_terry_table(overall) if len({m for r in overall for m in
                                                              (r.model_name, r.reference_name)}) > 2 else {},
    }


def chart_data(board: dict) -> dict:
    """Return what the leaderboard charts draw: win-rate with intervals per model, accuracy by questions asked."""
    winrate = []
    for row in board["rows"]:
        cell = row["winrate"].get(f"vs {HUMAN}") or next(iter(row["winrate"].values()), None)
        if cell and cell["win_rate"] is not None:
            ci = cell["ci"] or {}
            winrate.append({"model": row["model"], "value": cell["win_rate"], "low": ci.get("low"),
                            "high": ci.get("high")})
    curves = []
    for row in board["rows"]:
        for column, cell in row["interactive"].items():
            if cell.get("curve"):
                curves.append({"label": f"{row['model']} · {column}",
                               "points": [{"x": p["questions"], "y": p["accuracy"]} for p in cell["curve"]]})
    return {"winrate": winrate, "curves": curves}


# Exports --------------------------------------------------------------------------------------------------------

def run_export(run: EvaluationRun) -> dict:
    """Return a run as one JSON-ready object: parameters, provenance, metrics and its per-item results."""
    data = {"id": run.pk, "kind": run.kind, "model": run.model_name, "status": run.status, "config": run.config,
            "provenance": run.provenance, "metrics": run.metrics, "lineage": lineage(run),
            "created_at": run.created_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}
    if run.kind == RunKind.EXPERT_CHECK:
        data.update(metrics=expert_check_metrics(run), reference=run.reference_name, items=expert_items(run))
    elif run.kind == RunKind.INTERACTIVE:
        assert run.case_set is not None  # an interactive run evaluates a case set
        data["case_set"] = {"name": run.case_set.name, "sha256": run.case_set.sha256}
        data["episodes"] = list(run.episodes.order_by("repeat", "item__position").values(
            "repeat", "seed", "case_id", "answer_idx", "letter", "correct", "num_questions", "timed_out",
            "choices", "confidences", "transcript"))
    elif run.kind == RunKind.WINRATE:
        data["reference"] = run.reference_name
        data["verdicts"] = list(run.verdicts.values("qid", "order", "sample", "winner", "explanation", "attempts",
                                                    "candidate_text", "reference_text", "replies"))
    else:
        data["questions"] = list(run.questions.values("qid", "text", "seed", "rendering", "attempts", "raw"))
    return data


CSV_COLUMNS: dict[str, list[str]] = {
    RunKind.INTERACTIVE: ["repeat", "seed", "case_id", "answer_idx", "letter", "correct", "num_questions",
                          "timed_out"],
    RunKind.WINRATE: ["qid", "order", "sample", "winner", "attempts", "explanation"],
    RunKind.GENERATION: ["qid", "text", "seed", "rendering", "attempts"],
    RunKind.EXPERT_CHECK: ["qid", "candidate", "reference", "judge_choice", "expert_choices"],
}


def run_csv(run: EvaluationRun) -> str:
    """Return a run's per-item results as CSV (episodes, verdicts or generated questions)."""
    columns = CSV_COLUMNS[run.kind]
    rows: Iterable[Mapping[str, Any]]
    if run.kind == RunKind.EXPERT_CHECK:
        rows = expert_items(run)
    else:
        results: dict[str, QuerySet[Any]] = {
            RunKind.INTERACTIVE: run.episodes.order_by("repeat", "item__position"),
            RunKind.WINRATE: run.verdicts.all(), RunKind.GENERATION: run.questions.all()}
        rows = results[run.kind].values(*columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def leaderboard_csv(board: dict) -> str:
    """Return the leaderboard as CSV: one line per model and column, with intervals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["model", "metric", "column", "value", "low", "high", "n", "run"])
    for row in board["rows"]:
        for column, cell in row["winrate"].items():
            ci = cell["ci"] or {}
            writer.writerow([row["model"], "win_rate", column, cell["win_rate"], ci.get("low"), ci.get("high"),
                             ci.get("n"), cell["run"]])
        for column, cell in row["interactive"].items():
            ci = cell["accuracy_ci"] or {}
            writer.writerow([row["model"], "accuracy", column, cell["accuracy"], ci.get("low"), ci.get("high"),
                             cell["cases"], cell["run"]])
            if reduction := cell.get("error_reduction"):
                writer.writerow([row["model"], "error_reduction", column, reduction.get("value"), reduction.get("low"),
                                 reduction.get("high"), reduction.get("n"), cell["run"]])
    for model, estimate in board["bradley_terry"].items():
        writer.writerow([model, "bradley_terry", "overall", estimate["value"], estimate["low"], estimate["high"],
                         estimate["n"], ""])
    return out.getvalue()
