"""`lakehouse learning-curve`: how many rows the acceptance model needs to learn from. The champion's
candidate is fitted in memory on stratified samples of its training customers, the last all of them, each
judged on its holdout; the curve is logged to the champion's MLflow run (``learning_curve.json`` and the
metric ``learning_curve_roc_auc`` by rows) and printed, then the champion's own holdout ROC AUC beside the
fit on every row. The last line printed is JSON."""

from __future__ import annotations

import json
from typing import Any

from gold import acceptance_training as at
from gold import model_selection
from jobs import train
from pipelines import tracking
from pipelines.log import step
from pipelines.runtime import RunContext

CURVE_ARTIFACT = "learning_curve.json"


def run(ctx: RunContext) -> dict[str, Any]:
    """Fit the champion's candidate on growing samples of its training rows; log and print the curve."""
    client = tracking.configure(ctx.config)
    champion = tracking.get_alias(client, at.MODEL_NAME)
    params = client.get_run(champion.run_id).data.params
    candidate = model_selection.Candidate(
        float(params["chosen_reg_param"]), float(params["chosen_positive_weight"])
    )
    training, labelled = train.training_rows(ctx)
    with step(f"learning curve: {training.describe()}"):
        labelled = labelled.persist()
        try:
            config = train.with_inputs(ctx, labelled).config
            rows = labelled.select(*at.memory_columns(config), at.HOLDOUT).toPandas()
        finally:
            labelled.unpersist()
        held = rows[at.HOLDOUT].to_numpy(bool)
        curve = at.learning_curve(rows[~held], rows[held], candidate, config)
    tracking.add_curve(client, champion.run_id, curve, CURVE_ARTIFACT, "learning_curve_roc_auc")
    every_row = float(curve["roc_auc"].iloc[-1])
    summary = {
        "champion_version": champion.version,
        "candidate": candidate.name,
        "training_rows": int(curve["rows"].iloc[-1]),
        "selection_rows": int(float(params.get("budget_selection_share", 1.0)) * int(curve["rows"].iloc[-1])),
        "champion_roc_auc": round(float(champion.metrics["roc_auc"]), 4),
        "every_row_roc_auc": round(every_row, 4),
        "champion_below_every_row": round(every_row - float(champion.metrics["roc_auc"]), 4),
    }
    print("\n" + curve.round(4).to_string(index=False))
    print(
        f"champion (version {champion.version}) holdout ROC AUC {summary['champion_roc_auc']:.4f}; "
        f"fitted on every training row {every_row:.4f}"
    )
    print(json.dumps(summary))
    return summary
