"""A run's report as one self-contained HTML page and the same content as Markdown.

Both are rendered by Jinja2 from one context (`handlers/report/templates/report.*.j2`); the HTML
page carries its figures inline as PNG data URIs and its style in the page, so it opens from S3, a
downloaded folder or an e-mail attachment with no network fetch.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np

from handlers.data.profile import LARGE_PSI, MODERATE_PSI
from handlers.evaluation.bootstrap import LEVEL
from handlers.recipe.kinds import TASK_KINDS
from handlers.report import plots as report_plots
from handlers.report.sources import ModelScores, Sources
from handlers.runs.manifest import Manifest

THRESHOLD_CUTS = tuple(round(x, 2) for x in np.arange(0.05, 1.0, 0.05))
TOP_DRIFT_ROWS = 15


def render(sources: Sources) -> tuple[str, str]:
    """(HTML, Markdown)"""
    from handlers.report.templates import environment

    context = build_context(sources)
    html = environment().get_template("report.html.j2").render(**context)
    markdown = environment().get_template("report.md.j2").render(**context)
    return html, markdown


def build_context(sources: Sources) -> dict[str, Any]:
    recipe = sources.recipe
    kind = TASK_KINDS[recipe.target.kind]
    metrics = sources.evaluation["metrics"]
    champion = sources.champion or {}
    figures: dict[str, str] = {}
    context: dict[str, Any] = {
        "run": sources.evaluation.get("run", {}),
        "run_id": sources.run_id,
        "dataset": sources.dataset,
        "source": _source(sources.manifest),
        "kind": kind.name,
        "metric": recipe.promotion.metric,
        "decision": sources.decision,
        "decisions": sources.manifest.get("decisions", []),
        "live_endpoint": sources.live_endpoint,
        "standing": sources.standing,
        "live_version": sources.live_version,
        "status": sources.manifest.get("status"),
        "metrics_rows": [
            {
                "name": name,
                "ours": metrics.get(name),
                "theirs": (champion.get("metrics") or {}).get(name),
                "better": which_is_better(
                    metrics.get(name), (champion.get("metrics") or {}).get(name), higher
                ),
                "gate": name == recipe.promotion.metric,
            }
            for name, higher in kind.metrics.items()
        ],
        "champion": champion or None,
        "confidence": _confidence(sources),
        "notes": metrics.get("notes", []),
        "figures": figures,
        "unavailable": sources.unavailable,
        "psi_marks": {"moderate": MODERATE_PSI, "large": LARGE_PSI},
    }
    draw = _drawer(figures, sources.unavailable)
    {"binary": _binary, "multiclass": _multiclass, "regression": _regression}[kind.name](
        sources, context, draw
    )
    _model(sources, context, draw)
    _data(sources, context)
    return context


Draw = Callable[[str, Callable[[], bytes]], None]


def _drawer(figures: dict[str, str], unavailable: dict[str, str]) -> Draw:
    """Draw a figure into `figures` as a data URI; a figure that cannot be drawn (e.g. a curve
    of a test set holding one class) is left out with the reason."""

    def draw(name: str, make: Callable[[], bytes]) -> None:
        try:
            png = make()
        except (ValueError, IndexError) as exc:
            unavailable[f"figure {name}"] = str(exc)
            return
        figures[name] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    return draw


def _source(manifest: Manifest) -> str:
    source = manifest.get("source")
    return "s3://?/?" if source is None else f"s3://{source['bucket']}/{source['key']}"


def _models(sources: Sources) -> dict[str, np.ndarray]:
    """The score arrays to draw, challenger first; the champion only on the same rows."""
    models = {sources.ours.name: sources.ours.scores}
    theirs = sources.theirs
    if theirs is not None and len(theirs.labels) == len(sources.ours.labels):
        models[theirs.name] = theirs.scores
    return models


def _confidence(sources: Sources) -> dict[str, Any]:
    comparison = (sources.champion or {}).get("comparison")
    return {
        "level": LEVEL,
        "challenger": sources.evaluation.get("interval"),
        "comparison": comparison,
    }


def _binary(sources: Sources, context: dict[str, Any], draw: Draw) -> None:
    ours = sources.ours
    labels = ours.labels.astype(int)
    models = _models(sources)
    classes = sources.recipe.target.class_names()
    draw("roc", lambda: report_plots.roc_curves(labels, models))
    draw("pr", lambda: report_plots.pr_curves(labels, models))
    draw("calibration", lambda: report_plots.calibration(labels, models))
    draw("histogram", lambda: report_plots.score_histogram(labels, ours.scores, classes))
    matrix = sources.evaluation["metrics"]["confusion_matrix"]
    draw("confusion", lambda: report_plots.confusion(matrix, classes))
    context["confusion"] = {"classes": list(classes), "matrix": matrix}
    context["threshold"] = sources.recipe.threshold
    context["thresholds"] = _threshold_table(ours)
    context["best_cut"] = _best_f1_cut(ours)


def _threshold_table(ours: ModelScores) -> list[dict[str, float]]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    labels = ours.labels.astype(int)
    rows = []
    for cut in THRESHOLD_CUTS:
        predicted = (ours.scores > cut).astype(int)
        rows.append(
            {
                "cut": cut,
                "precision": float(precision_score(labels, predicted, zero_division=0)),
                "recall": float(recall_score(labels, predicted, zero_division=0)),
                "f1": float(f1_score(labels, predicted, zero_division=0)),
                "predicted_positive": int(predicted.sum()),
            }
        )
    return rows


def _best_f1_cut(ours: ModelScores) -> dict[str, float] | None:
    """The cut that maximises F1 over every distinct score (a score above it predicts 1)."""
    from sklearn.metrics import precision_recall_curve

    labels = ours.labels.astype(int)
    if not labels.any():
        return None
    precision, recall, cuts = precision_recall_curve(labels, ours.scores)
    total = precision + recall
    f1 = (2 * precision * recall / np.where(total > 0, total, 1))[:-1]
    best = int(np.argmax(f1))
    # precision_recall_curve predicts 1 at score >= cut; just below it keeps "above the cut".
    cut = float(np.nextafter(cuts[best], -np.inf))
    return {
        "cut": cut,
        "precision": float(precision[best]),
        "recall": float(recall[best]),
        "f1": float(f1[best]),
    }


def _multiclass(sources: Sources, context: dict[str, Any], draw: Draw) -> None:
    metrics = sources.evaluation["metrics"]
    classes = list(metrics["classes"])
    draw("confusion", lambda: report_plots.confusion(metrics["confusion_matrix"], classes))
    context["confusion"] = {"classes": classes, "matrix": metrics["confusion_matrix"]}
    context["per_class"] = metrics["per_class"]


def _regression(sources: Sources, context: dict[str, Any], draw: Draw) -> None:
    ours = sources.ours
    models = _models(sources)
    draw("predicted_vs_actual", lambda: report_plots.predicted_vs_actual(ours.labels, models))
    draw("residuals", lambda: report_plots.residuals(ours.labels, ours.scores))


def _model(sources: Sources, context: dict[str, Any], draw: Draw) -> None:
    importance = sources.importance
    if importance:
        draw("importance", lambda: report_plots.importance(importance))
    curves = sources.curves
    if curves:
        draw("training", lambda: report_plots.training_curves(curves))
    context["importance"] = importance or []
    job_name = sources.job.get("name", "(not described)")
    context["job"] = {
        "name": job_name,
        "hyperparameters": sources.recipe.hyperparameter_dict(),
        "final_metrics": {},
        **sources.job,
    }
    context["curves"] = {
        metric: {channel: values[-1] for channel, values in channels.items()}
        for metric, channels in (curves or {}).items()
    }
    context["rounds"] = max(
        (len(v) for channels in (curves or {}).values() for v in channels.values()), default=0
    )


def _data(sources: Sources, context: dict[str, Any]) -> None:
    profile = sources.profile or {}
    context["profile"] = profile or None
    drift = profile.get("drift")
    if drift is not None:
        psi = drift.get("psi", {})
        rows = sorted(psi.items(), key=lambda item: -item[1])[:TOP_DRIFT_ROWS]
        drift = {**drift, "rows": [{"feature": k, "psi": v, "band": _band(v)} for k, v in rows]}
    context["drift"] = drift


def _band(psi: float) -> str:
    if psi > LARGE_PSI:
        return "large"
    return "moderate" if psi > MODERATE_PSI else "stable"


def which_is_better(ours: float | None, theirs: float | None, higher_is_better: bool) -> str:
    """Which model the metric favours on these rows (the gate decides on one metric only)."""
    direction = "higher" if higher_is_better else "lower"
    if ours is None or theirs is None:
        return f"— ({direction} is better)"
    if ours == theirs:
        return "equal"
    ours_ahead = ours > theirs if higher_is_better else ours < theirs
    return f"{'this version' if ours_ahead else 'champion'} ({direction})"
