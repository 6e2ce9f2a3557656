"""`lakehouse app`: the marketers' app (Streamlit). Segments, Targets, What-if, Model; read from the gold
tables with ``deltalake`` and from the registry, like `lakehouse serve` (no JVM, no lock).

Started by ``lakehouse app --root <lakehouse>`` (``streamlit run apps/app.py -- --root <lakehouse>``)."""

import argparse
import sys

import pandas as pd
import streamlit as st

from apps import views
from apps.api import Lakehouse, answer, columns_of
from gold import acceptance_training, portable
from gold.objectives import OBJECTIVES
from pipelines import pandas_io, tracking
from pipelines.config import Config, load_config
from pipelines.errors import PipelineError

MODEL = acceptance_training.MODEL_NAME


def _config() -> Config:
    """The lakehouse named by the script's arguments (``-- --root ... [--config ...]``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--root")
    parser.add_argument("--config")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return load_config(args.config, {"root": args.root} if args.root else None)


@st.cache_resource
def lakehouse() -> Lakehouse:
    return Lakehouse(_config())


def _latest(name: str, house: Lakehouse, as_of: str) -> pd.DataFrame:
    return pandas_io.read_table(name, house.config, filters=[("as_of_date", "=", as_of)])


def segments_page() -> None:
    house = lakehouse()
    loaded = house.current()
    st.title("Segments")
    st.caption(f"{len(loaded.marketing):,} customers scored as of {loaded.as_of}")
    view = views.segments(_latest("gold.segment_profiles", house, loaded.as_of))
    st.dataframe(
        view,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in ("share", "revenue share", "past acceptance", "expected acceptance")
        },
    )
    st.bar_chart(view, x="segment", y="revenue share", horizontal=True, sort="-revenue share")
    st.markdown(
        "**Suggested actions**: " + "; ".join(f"*{rule}*: {action}" for rule, action in views.ACTIONS)
    )


def _reasons(loaded, ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    features = loaded.features
    known = [i for i in ids if i in features.index]
    model = loaded.model
    said = portable.reasons(model, columns_of(model, features.loc[known].to_dict("records"))) if known else []
    by_id = dict(zip(known, ("; ".join(r) for r in said), strict=True))
    return [by_id.get(i, "") for i in ids]


def targets_page() -> None:
    house = lakehouse()
    loaded = house.current()
    st.title("Targets")
    mode = st.radio("Choose whom to contact by", ["objective", "budget"], horizontal=True)
    objective, budget = None, None
    if mode == "objective":
        objective = st.radio(
            "Business objective", OBJECTIVES, index=OBJECTIVES.index("balanced"), horizontal=True
        )
    else:
        budget = int(st.number_input("Contacts (the most likely to accept)", min_value=1, value=500, step=50))
    chosen = views.targets(loaded.marketing, objective, budget)
    total = views.totals(chosen)
    a, b, c = st.columns(3)
    a.metric("contacts", f"{total['contacts']:,}")
    b.metric("expected acceptances", f"{total['acceptances']:,.1f}")
    c.metric("expected profit", f"{total['profit']:,.0f}")
    listed = chosen[views.TARGET_COLUMNS].copy()
    listed["reasons"] = _reasons(loaded, [int(i) for i in listed["customer_id"]])
    name = f"targets_{objective or f'best_{budget}'}_{loaded.as_of}.csv"
    st.download_button("Download CSV", listed.to_csv(index=False), file_name=name, mime="text/csv")
    st.dataframe(listed, hide_index=True)


def what_if_page() -> None:
    house = lakehouse()
    loaded = house.current()
    model = loaded.model
    st.title("What-if")
    st.caption(
        f"{MODEL} v{loaded.version}: an empty number is filled with the training median before the "
        "model derives its ratios and logs from the numbers"
    )
    if left_out := model.get("left_out"):
        st.caption("Not used by the model: " + "; ".join(f"{c} ({why})" for c, why in left_out.items()))
    with st.form("what-if"):
        values: dict[str, object] = {}
        columns = st.columns(3)
        for n, column in enumerate(model["numeric"]):
            values[column] = columns[n % 3].number_input(column, value=None, placeholder="median")
        for column, spec in model["categorical"].items():
            values[column] = st.selectbox(
                column, [None, *spec["labels"]], format_func=lambda v: v or "unknown"
            )
        submitted = st.form_submit_button("Score")
    if submitted:
        result = answer(loaded, model, [values])[0]
        st.metric("probability of accepting", f"{result['probability']:.4f}")
        for warning in result["warnings"]:
            st.warning(warning)
        st.write(
            f"decile {result['decile']} of today's customers; expected profit {result['expected_profit']:.2f}"
        )
        st.table(
            pd.DataFrame({"objective": list(result["contact"]), "contact": list(result["contact"].values())})
        )
        st.markdown("\n".join(f"- {r}" for r in result["reasons"]) or "no input raises the odds")


def model_page() -> None:
    house = lakehouse()
    loaded = house.current()
    st.title("Model")
    champion = tracking.get_alias(house.client, MODEL)
    st.subheader(f"{MODEL} v{champion.version} (champion)")
    metrics = {
        k: champion.metrics[k]
        for k in ("roc_auc", "pr_auc", "f1", "profit", "holdout_rows")
        if k in champion.metrics
    }
    st.dataframe(pd.DataFrame([metrics]), hide_index=True)
    promotions = pandas_io.read_table("ops.model_promotions", house.config)
    if flags := views.champion_flags(promotions, MODEL, champion.version):
        st.warning(
            f"Flagged: v{champion.version} on its holdout: {flags}. It is champion because something must "
            "score; compare it with the baselines below before trusting its targets."
        )
    if left_out := loaded.model.get("left_out"):
        st.caption("Inputs left out: " + "; ".join(f"{c} ({why})" for c, why in left_out.items()))
    comparison = tracking.logged_table(house.client, champion.run_id, "model_comparison.json")
    if comparison is not None:
        st.markdown("**Against the baselines** (same holdout)")
        st.dataframe(comparison, hide_index=True)
    drivers = pandas_io.read_table(
        "gold.acceptance_drivers", house.config, filters=[("model_version", "=", champion.version)]
    )
    st.markdown("**Drivers** (odds ratio per standard deviation)")
    st.dataframe(drivers.sort_values("importance_rank").head(15), hide_index=True)
    report = tracking.artifact_file(house.client, champion.run_id, "holdout_report.png")
    if report:
        st.image(report, caption="holdout: ROC, precision-recall, reliability, lift, cumulative gain")
    st.markdown("**Promotion history**")
    st.dataframe(promotions.sort_values("decided_at", ascending=False), hide_index=True)
    st.markdown("**Drift** since the champion's training (latest run)")
    drift = _latest("ops.feature_drift", house, loaded.as_of)
    st.dataframe(
        drift[["feature", "psi", "ks", "reference_mean", "current_mean", "flagged"]], hide_index=True
    )
    st.markdown("**Data quality**: rule failures per run")
    dq = pandas_io.read_table("ops.dq_results", house.config)
    trend = dq.groupby(["as_of_date", "outcome"]).size().unstack(fill_value=0)
    st.bar_chart(trend)


def main() -> None:
    st.set_page_config(page_title="Marketing lakehouse", layout="wide")
    try:
        lakehouse()
    except PipelineError as exc:
        st.error(str(exc))
        st.stop()
    pages = [
        st.Page(segments_page, title="Segments", default=True),  # the default page is at /
        st.Page(targets_page, title="Targets", url_path="targets"),
        st.Page(what_if_page, title="What-if", url_path="what-if"),
        st.Page(model_page, title="Model", url_path="model"),
    ]
    st.navigation(pages).run()


main()
