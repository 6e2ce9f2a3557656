"""The load `lakehouse loadtest` puts on `lakehouse serve`: each simulated user asks for a score three
times as often as it looks a customer up, with 0.5-1.5 s between requests (a person using a tool, or a
system scoring as customers arrive). Requests come from real customers of the lakehouse
(``LOADTEST_SAMPLE``: a JSON file written by ``apps.loadtest``)."""

import json
import os
import random

from locust import HttpUser, between, task

with open(os.environ["LOADTEST_SAMPLE"]) as sample_file:
    SAMPLE = json.load(sample_file)


class Marketer(HttpUser):
    wait_time = between(0.5, 1.5)

    @task(3)
    def predict(self) -> None:
        with self.client.post(
            "/predict", json={"customers": [random.choice(SAMPLE["customers"])]}, catch_response=True
        ) as response:
            if (
                response.status_code != 200
                or not 0.0 <= response.json()["predictions"][0]["probability"] <= 1.0
            ):
                response.failure(f"status {response.status_code}: {response.text[:200]}")

    @task(1)
    def customer(self) -> None:
        customer_id = random.choice(SAMPLE["ids"])
        with self.client.get(
            f"/customers/{customer_id}", name="/customers/{id}", catch_response=True
        ) as response:
            if response.status_code != 200 or response.json()["customer_id"] != customer_id:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
