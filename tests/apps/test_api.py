"""`lakehouse serve` as a client sees it: a real uvicorn process on loopback over the generated lakehouse,
asked over HTTP. Its answers are checked against what Spark wrote to gold (the same champion scored every
customer there), and it must pick up a new champion without a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests

from apps.api import client_records, decile
from apps.loadtest import free_port, started
from gold import acceptance_training, customer_features, customer_marketing, portable
from gold.objectives import OBJECTIVES, contact_column
from pipelines import pandas_io, tracking

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(generated) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The base URL of a running `lakehouse serve` over the generated lakehouse."""
    port = free_port()
    root = str(generated.config.root)
    command = [sys.executable, "-m", "commands.cli", "serve", "--root", root, "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    process = started([*command, "--refresh-seconds", "0.2"], f"{url}/health", "lakehouse serve")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def gold(generated):  # type: ignore[no-untyped-def]
    """(the latest gold.customer_marketing rows, their features), read without Spark, by customer_id."""
    as_of = pandas_io.latest_as_of(customer_marketing.TABLE.name, generated.config)
    where = [("as_of_date", "=", as_of)]
    marketing = pandas_io.read_table(customer_marketing.TABLE.name, generated.config, filters=where)
    features = pandas_io.read_table(customer_features.TABLE.name, generated.config, filters=where)
    return marketing.set_index("customer_id").sort_index(), features.set_index("customer_id").sort_index()


def test_predictions_equal_what_spark_wrote_to_gold_for_every_customer(api, gold, generated):  # type: ignore[no-untyped-def]
    marketing, features = gold
    columns = [
        *customer_features.numeric_columns(generated.config.vocabulary),
        *customer_features.CATEGORICAL,
    ]
    customers = client_records(features.reset_index(), columns)
    answers = []
    for start in range(0, len(customers), 250):
        response = requests.post(
            f"{api}/predict", json={"customers": customers[start : start + 250]}, timeout=60
        )
        assert response.status_code == 200, response.text
        answers += response.json()["predictions"]
    assert [a["customer_id"] for a in answers] == list(marketing.index)
    probabilities = np.array([a["probability"] for a in answers])
    assert np.abs(probabilities - marketing["acceptance_probability"].to_numpy()).max() < 1e-9
    assert [a["decile"] for a in answers] == list(marketing["decile"])
    assert (
        np.abs(np.array([a["expected_profit"] for a in answers]) - marketing["expected_profit"]).max() < 1e-9
    )
    for objective in OBJECTIVES:
        assert [a["contact"][objective] for a in answers] == list(marketing[contact_column(objective)])
    version = marketing["acceptance_model_version"].iloc[0]
    assert {a["model_version"] for a in answers} == {version}
    assert all(1 <= len(a["reasons"]) <= 3 and all("multiplies the odds by" in r for r in a["reasons"])
               for a in answers if a["probability"] > 0.5)  # fmt: skip


def test_a_customer_without_demographics_is_scored_with_the_training_medians(api, generated):  # type: ignore[no-untyped-def]
    tracking.configure(generated.config)
    client = mlflow.MlflowClient()
    version = tracking.champion_version(client, acceptance_training.MODEL_NAME)
    exported = tracking.logged_dict(client, acceptance_training.MODEL_NAME, version, "portable.json")
    sent = {"recency_days": 12.0, "spend_total": 800.0}
    answer = requests.post(f"{api}/predict", json={"customers": [sent]}, timeout=30).json()["predictions"][0]
    columns = {c: [sent.get(c, np.nan)] for c in exported["numeric"]} | {
        c: [None] for c in exported["categorical"]
    }
    assert answer["probability"] == pytest.approx(portable.probabilities(exported, columns)[0], abs=1e-12)
    blank = requests.post(f"{api}/predict", json={"customers": [{}]}, timeout=30).json()["predictions"][0]
    assert blank["probability"] != answer["probability"]


def test_the_documented_partial_example_gets_a_plausible_answer_and_says_what_it_extrapolates(api, generated):  # type: ignore[no-untyped-def]
    """The docs' example leaves out every input but three: they are filled with the medians first and the
    ratios derived from the filled numbers, as training computed them; values outside the training range
    come back as warnings."""
    client = tracking.reader(generated.config)
    name = acceptance_training.MODEL_NAME
    exported = tracking.logged_dict(client, name, tracking.champion_version(client, name), "portable.json")
    sent = {"customer_id": 1, "recency_days": 12, "income": 52000, "spend_wines": 640}
    answer = requests.post(f"{api}/predict", json={"customers": [sent]}, timeout=30).json()["predictions"][0]
    assert 0.005 < answer["probability"] < 0.995, answer
    columns = {c: [float(sent.get(c, np.nan))] for c in exported["numeric"]} | {
        c: [None] for c in exported["categorical"]
    }
    assert answer["probability"] == pytest.approx(portable.probabilities(exported, columns)[0], abs=1e-12)
    assert answer["warnings"] == portable.out_of_range(exported, columns)[0]
    far = requests.post(f"{api}/predict", json={"customers": [{"income": 9e6}]}, timeout=30).json()
    income, log_income = far["predictions"][0]["warnings"]
    assert income.startswith("income 9e+06 is above the training range")
    assert log_income.startswith("log_income 16.01 (derived from the inputs given and the medians) is above")


def test_a_gold_features_row_is_accepted_as_it_is_with_its_keys_echoed(api, gold):  # type: ignore[no-untyped-def]
    marketing, features = gold
    rows = features.reset_index().head(5)
    sent = [
        {k: (None if pd.isna(v) else v.isoformat() if hasattr(v, "isoformat") else v.item() if hasattr(v, "item") else v)
         for k, v in row.items()}
        for row in rows.to_dict("records")
    ]  # fmt: skip
    response = requests.post(f"{api}/predict", json={"customers": sent}, timeout=30)
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [(a["customer_id"], a["as_of_date"]) for a in answers] == [
        (int(r["customer_id"]), str(r["as_of_date"])) for r in rows.to_dict("records")
    ]
    expected = marketing.loc[[a["customer_id"] for a in answers], "acceptance_probability"].to_numpy()
    assert np.abs(np.array([a["probability"] for a in answers]) - expected).max() < 1e-9


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"customers": [{"income": "a lot"}]}, ["customers[0].income"]),
        ({"customers": [{"recency_days": 3}, {"incomee": 5, "kids_at_home": [1]}]},
         ["customers[1].kids_at_home", "customers[1].incomee"]),
        ({"customers": [{"income": 1e400}]}, ["customers[0].income"]),
        ({"customers": []}, ["customers"]),
        ({"customers": [{}] * 1001}, ["customers"]),
        ({"people": [{}]}, ["customers", "people"]),
        ({"customers": [{"marital_status": 3}]}, ["customers[0].marital_status"]),
    ],
)  # fmt: skip
def test_invalid_input_is_refused_naming_each_bad_field(api, body, named):  # type: ignore[no-untyped-def]
    response = requests.post(f"{api}/predict", data=json.dumps(body), timeout=30,
                             headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert sorted(line.split(":")[0] for line in detail) == sorted(named), detail


def test_a_customer_is_their_latest_gold_row_with_reasons(api, gold):  # type: ignore[no-untyped-def]
    marketing, _ = gold
    for customer_id in marketing.index[:: max(1, len(marketing) // 7)]:
        answer = requests.get(f"{api}/customers/{customer_id}", timeout=30).json()
        row = marketing.loc[customer_id]
        assert answer["customer_id"] == customer_id
        assert answer["segment_name"] == row["segment_name"] and answer["segment_id"] == row["segment_id"]
        assert answer["acceptance_probability"] == row["acceptance_probability"]
        assert answer["decile"] == row["decile"] and answer["as_of_date"] == str(row["as_of_date"])
        assert answer["contact"] == {o: bool(row[contact_column(o)]) for o in OBJECTIVES}
        assert len(answer["reasons"]) <= 3 and all("multiplies the odds by" in r for r in answer["reasons"])
    unknown = requests.get(f"{api}/customers/{int(marketing.index.max()) + 1000}", timeout=30)
    assert unknown.status_code == 404 and "has no scores" in unknown.json()["detail"]
    assert requests.get(f"{api}/customers/somebody", timeout=30).status_code == 422


def test_health_names_the_champion_and_the_data(api, gold, generated):  # type: ignore[no-untyped-def]
    marketing, _ = gold
    health = requests.get(f"{api}/health", timeout=30).json()
    tracking.configure(generated.config)
    champion = tracking.champion_version(mlflow.MlflowClient(), acceptance_training.MODEL_NAME)
    assert health["status"] == "ok" and health["model"]["version"] == champion
    assert health["as_of"] == str(marketing["as_of_date"].iloc[0]) and health["rows"] == len(marketing)


def test_a_new_champion_is_served_without_a_restart(api, generated):  # type: ignore[no-untyped-def]
    """A new version (the same pipeline with its intercept raised by 2) becomes champion while the server
    runs: the next answers come from it; the old champion is restored afterwards."""
    name = acceptance_training.MODEL_NAME
    tracking.configure(generated.config)
    client = mlflow.MlflowClient()
    old = tracking.champion_version(client, name)
    exported = tracking.logged_dict(client, name, old, "portable.json")
    raised = {**exported, "intercept": exported["intercept"] + 2.0}
    sent = {"customers": [{"recency_days": 20.0, "income": 40000.0}]}
    before = requests.post(f"{api}/predict", json=sent, timeout=30).json()["predictions"][0]
    with mlflow.start_run(run_name="a raised intercept"):
        mlflow.log_dict(raised, "portable.json")
        run_id = mlflow.active_run().info.run_id  # type: ignore[union-attr]
    source = client.get_model_version(name, old).source
    new = client.create_model_version(name, source, run_id=run_id).version
    try:
        tracking.set_alias(client, name, str(new))
        deadline, health = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            health = requests.get(f"{api}/health", timeout=30).json()
            if health["model"]["version"] == str(new):
                break
            time.sleep(0.2)
        assert health["model"]["version"] == str(new), health
        after = requests.post(f"{api}/predict", json=sent, timeout=30).json()["predictions"][0]
        columns = {c: [sent["customers"][0].get(c, np.nan)] for c in raised["numeric"]}
        columns |= {c: [None] for c in raised["categorical"]}
        assert after["model_version"] == str(new)
        assert after["probability"] == pytest.approx(portable.probabilities(raised, columns)[0], abs=1e-12)
        assert after["probability"] > before["probability"]
    finally:
        tracking.set_alias(client, name, old)
        client.delete_model_version(name, str(new))
    deadline = time.monotonic() + 30
    while requests.get(f"{api}/health", timeout=30).json()["model"]["version"] != old:
        assert time.monotonic() < deadline, "the restored champion was not picked up"
        time.sleep(0.2)


def test_decile_numbers_as_spark_ntile_does() -> None:
    for n in (7, 10, 23, 150):
        scores = np.random.default_rng(n).random(n)
        ranked = np.sort(scores)
        order = np.argsort(-scores, kind="stable")
        expected = np.empty(n, dtype=int)  # Spark's ntile(10): the first n % 10 buckets hold one more
        size, bigger = divmod(n, 10)
        bounds = np.cumsum([size + 1 if b < bigger else size for b in range(10)])
        for position, i in enumerate(order):
            expected[i] = int(np.searchsorted(bounds, position, side="right")) + 1
        assert [decile(ranked, s) for s in scores] == list(expected)


def test_the_load_test_reports_every_request_and_no_failure(generated):  # type: ignore[no-untyped-def]
    """`lakehouse loadtest` on a small scale: it starts its own server, and its last line is the totals."""
    command = [sys.executable, "-m", "commands.cli", "loadtest", "--root", str(generated.config.root),
               "--users", "20", "--seconds", "3", "--spawn-rate", "20"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    totals = json.loads(done.stdout.strip().splitlines()[-1])
    assert totals["users"] == 20 and totals["failures"] == 0 and totals["requests"] > 20
    table = done.stdout.splitlines()
    assert any(line.startswith("/predict ") for line in table)
    assert any(line.startswith("/customers/{id} ") for line in table)
