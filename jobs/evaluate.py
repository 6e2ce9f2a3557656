"""Judge the acceptance pipeline by nested, stratified k-fold cross-validation, against baselines on the same
folds: the majority class, the "accepted a past campaign" rule, and gradient-boosted trees.

`lakehouse evaluate-crm PATH` imports the public CRM case and evaluates on its pilot campaign; the last line
printed is JSON: {"roc_auc": ..., "pr_auc": ..., "f1": ..., "profit": ..., "folds": 5}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import acceptance, campaign_responses, customer_features, model_selection
from gold.model_selection import Candidate, nested_cross_validation, summarize
from gold.objectives import Economics
from jobs import crm
from jobs.common import add_config_arguments, start_context
from pipelines.log import step
from pipelines.runtime import RunContext


def compare(
    ctx: RunContext, labelled: DataFrame, k: int, inner_k: int
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every model on the same outer folds; returns (comparison table, per-model summary)."""
    settings = ctx.config.model
    economics = Economics(settings.contact_cost, settings.revenue_per_acceptance)
    default = [Candidate(settings.reg_param, 1.0)]
    models = {
        model_selection.MODEL: (
            model_selection.logistic(ctx.config.vocabulary, ctx.config.model.seed),
            model_selection.candidates(settings.reg_params, settings.positive_weights),
        ),
        "majority class": (model_selection.majority, default),
        "rule: accepted a past campaign": (model_selection.past_acceptance_rule, default),
        "gradient-boosted trees": (
            model_selection.logistic(ctx.config.vocabulary, ctx.config.model.seed, "gbt"),
            default,
        ),
    }
    summaries: dict[str, dict] = {}
    labelled = model_selection.compact(labelled)
    try:
        for name, (fit_predict, grid) in models.items():
            with step(f"evaluate: {name}, {k}-fold stratified cross-validation"):
                per_fold, scored = nested_cross_validation(
                    labelled,
                    k=k,
                    inner_k=inner_k,
                    seed=settings.seed,
                    candidates=grid,
                    fit_predict=fit_predict,
                    economics=economics,
                    progress=lambda line: ctx.log.info("  %s", line),
                )
                summaries[name] = summarize(per_fold, scored, economics)
    finally:
        labelled.unpersist()
    table = pd.DataFrame(summaries).T[
        ["roc_auc", "roc_auc_fold_std", "pr_auc", "f1", "precision", "recall", "brier", "contacts", "profit"]
    ]
    return table, summaries


def crm_training_set(ctx: RunContext) -> DataFrame:
    responses = ctx.lakehouse.read(campaign_responses.CONTRACT.name)
    features = ctx.lakehouse.read(customer_features.contract(ctx.config.vocabulary).name).where(
        F.col("as_of_date") == F.lit(ctx.as_of)
    )
    numeric = customer_features.numeric_columns(ctx.config.vocabulary)
    return acceptance.prepare(
        acceptance.training_set(features, responses, campaign_responses.CRM_PILOT), numeric
    )


def main(args: argparse.Namespace) -> int:
    args.as_of, args.run_id = None, args.run_id or f"evaluate-crm-{Path(args.path).stem}"
    ctx = start_context(args, "lakehouse-evaluate-crm")
    crm.run(ctx, Path(args.path), models=False)
    table, summaries = compare(ctx, crm_training_set(ctx), args.folds, args.inner_folds)
    pd.set_option("display.width", 160)
    counts = {"contacts", "profit"}
    formatters = {
        c: (lambda v: f"{v:,.0f}") if c in counts else (lambda v: f"{v:.3f}") for c in table.columns
    }
    print("\n" + table.to_string(formatters=formatters))
    ctx.record("evaluate", "models", summaries)
    ctx.log.info("run report: %s", ctx.write_report())
    best = summaries[model_selection.MODEL]
    line = {k: round(best[k], 4) for k in ("roc_auc", "pr_auc", "f1")}
    print(json.dumps({**line, "profit": round(best["profit"], 2), "folds": args.folds}))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_config_arguments(parser)
    parser.add_argument("path", help="the CRM case file (comma- or tab-separated)")
    parser.add_argument("--folds", type=int, default=5, help="outer cross-validation folds (default 5)")
    parser.add_argument(
        "--inner-folds",
        type=int,
        default=3,
        help="folds inside each training fold for hyperparameters and threshold",
    )
    parser.add_argument("--run-id", default=None, help="run id (default: evaluate-crm-<file name>)")
    parser.set_defaults(handler=main)
    return parser


if __name__ == "__main__":
    sys.exit(
        main(add_arguments(argparse.ArgumentParser(prog="evaluate_crm", description=__doc__)).parse_args())
    )
