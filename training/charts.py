"""Line charts of run metrics as plain SVG geometry, drawn by a template (no script needed, htmx polls a fragment)."""

import math
from dataclasses import dataclass

from .models import TrainingMetric, TrainingRun

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_Y = 360, 150, 46, 8, 14
# (key, title, [(column, split, label)]) per chart of a run page.
RUN_CHARTS = (
    ("loss", "Loss", [("loss", "train", "train"), ("loss", "eval", "validation")]),
    ("accuracy", "Reward accuracy", [("rewards_accuracies", "train", "train"),
                                     ("rewards_accuracies", "eval", "validation")]),
    ("margin", "Reward margin", [("rewards_margins", "train", "train"), ("rewards_margins", "eval", "validation")]),
    ("rewards", "Rewards", [("rewards_chosen", "train", "chosen"), ("rewards_rejected", "train", "rejected")]),
    ("lr", "Learning rate", [("learning_rate", "train", "learning rate")]),
    ("speed", "Tokens per second", [("tokens_per_second", "train", "tokens/s")]),
)
COMPARE_COLUMNS = (("loss", "Loss"), ("rewards_accuracies", "Reward accuracy"), ("rewards_margins", "Reward margin"),
                   ("learning_rate", "Learning rate"), ("tokens_per_second", "Tokens per second"))


@dataclass(frozen=True)
class Series:
    label: str
    points: str  # SVG polyline points
    last: float | None
    count: int


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    series: list[Series]
    y_low: float
    y_high: float
    x_high: int

    @property
    def is_empty(self) -> bool:
        return not any(s.count for s in self.series)

    @property
    def ticks(self) -> list[dict]:
        """Return three labelled horizontal grid lines: bottom, middle and top of the value range."""
        span = self.y_high - self.y_low
        return [{"y": y_position(self.y_low + span * k / 2, self.y_low, self.y_high),
                 "label": short(self.y_low + span * k / 2)} for k in range(3)]


def short(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def y_position(value: float, low: float, high: float) -> float:
    return round(HEIGHT - PAD_Y - (value - low) / (high - low) * (HEIGHT - 2 * PAD_Y), 1)


def x_position(step: int, x_high: int) -> float:
    return round(PAD_LEFT + step / x_high * (WIDTH - PAD_LEFT - PAD_RIGHT), 1)


def build_chart(key: str, title: str, lines: list[tuple[str, list[tuple[int, float]]]]) -> Chart:
    """Return a chart of (label, [(step, value)]) lines sharing one x axis (steps) and one y range."""
    values = [v for _, points in lines for _, v in points]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if math.isclose(low, high):
        low, high = low - (abs(low) or 1) * 0.05, high + (abs(high) or 1) * 0.05
    x_high = max((step for _, points in lines for step, _ in points), default=1) or 1
    series = [Series(label, " ".join(f"{x_position(s, x_high)},{y_position(v, low, high)}" for s, v in points),
                     points[-1][1] if points else None, len(points)) for label, points in lines]
    return Chart(key, title, series, low, high, x_high)


def metric_points(metrics: list[TrainingMetric], column: str, split: str) -> list[tuple[int, float]]:
    return [(m.step, getattr(m, column)) for m in metrics if m.split == split and getattr(m, column) is not None]


def run_charts(run: TrainingRun) -> list[Chart]:
    """Return the run page's charts; a chart whose metric this method never logs is left out."""
    metrics = list(run.metrics.order_by("step"))
    charts = [build_chart(key, title, [(label, metric_points(metrics, column, split))
                                       for column, split, label in lines])
              for key, title, lines in RUN_CHARTS]
    return [chart for chart in charts if not chart.is_empty]


def compare_charts(runs: list[TrainingRun]) -> list[Chart]:
    """Return one chart per metric with a line per run (train split), for runs side by side."""
    metrics = {run.pk: list(run.metrics.filter(split="train").order_by("step")) for run in runs}
    charts = [build_chart(column, title, [(str(run), metric_points(metrics[run.pk], column, "train"))
                                          for run in runs])
              for column, title in COMPARE_COLUMNS]
    return [chart for chart in charts if not chart.is_empty]
