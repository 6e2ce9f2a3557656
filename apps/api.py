"""`lakehouse serve`: the acceptance champion and the latest gold scores over HTTP, without a JVM.

- ``POST /predict``: customers' features -> probability, decile, expected profit, the decision under each
  business objective, the top three reasons, and the model version that answered;
- ``GET /customers/{id}``: the customer's latest ``gold.customer_marketing`` row, with reasons;
- ``GET /health``: model version, data as-of date, rows loaded.

The model is the champion's portable form (``gold.portable``, logged with each version at training) and the
tables are read with ``deltalake``: no Spark session, no catalog, no lock, so it runs beside the jobs. A thread
looks for a new champion or a new scoring run every ``refresh_seconds`` and swaps in what it loaded, so
requests never wait for a reload; a refresh that fails (a registry busy with a write) keeps serving what was
loaded and says so on ``/health``.
"""

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from gold import customer_features, customer_marketing, portable
from gold.acceptance_training import MODEL_NAME, PORTABLE_ARTIFACT
from gold.objectives import OBJECTIVES
from pipelines import pandas_io, tracking
from pipelines.config import Config
from pipelines.errors import PipelineError, first_line

MARKETING = customer_marketing.TABLE.name
FEATURES = customer_features.TABLE.name
MAX_BATCH = 1000
_LOG = logging.getLogger("lakehouse.serve")


class NotReadyError(PipelineError):
    """The lakehouse has no champion or no scores yet."""


def decile(ranked: np.ndarray, probability: float) -> int:
    """The decile a probability falls in among ``ranked`` (today's scores, ascending), as
    ``gold.customer_marketing`` numbers them: Spark's ``ntile(10)`` over the scores, highest first (the first
    ``n % 10`` deciles hold one customer more). Ties take the best position they share."""
    n = len(ranked)
    if n == 0:
        return 1
    # position, highest first; scores equal to 12 digits count as the same score (the portable form
    # rounds differently from Spark in the last bits)
    above = n - int(np.searchsorted(ranked, probability + 1e-12, side="right"))
    size, bigger = divmod(n, 10)
    if above < bigger * (size + 1):
        return above // (size + 1) + 1
    return min(10, bigger + (above - bigger * (size + 1)) // max(size, 1) + 1)


@dataclass(frozen=True)
class Loaded:
    """What one refresh read: the champion's portable form and the latest scored customers."""

    version: str
    model: Mapping[str, Any]
    as_of: str
    marketing: pd.DataFrame  # the latest as_of_date's rows, indexed by customer_id
    features: pd.DataFrame  # the features they were scored from, indexed by customer_id
    ranked: np.ndarray  # their probabilities, ascending
    marketing_version: int
    features_version: int
    loaded_at: float = field(default_factory=time.time)


class Lakehouse:
    """The lakehouse as the API sees it: reloaded when the champion or a table changes."""

    def __init__(self, config: Config, refresh_seconds: float = 2.0) -> None:
        self.config, self.refresh_seconds = config, refresh_seconds
        self.client = tracking.reader(config)
        self._lock = threading.Lock()
        self._checked = 0.0
        self._models: dict[str, Mapping[str, Any]] = {}
        self.refresh_error: str | None = None
        self.loaded = self._load(None)

    def model(self, version: str) -> Mapping[str, Any]:
        if version not in self._models:
            self._models[version] = tracking.logged_dict(self.client, MODEL_NAME, version, PORTABLE_ARTIFACT)
        return self._models[version]

    def _load(self, previous: Loaded | None) -> Loaded:
        version = tracking.champion_version(self.client, MODEL_NAME)
        if version is None:
            raise NotReadyError(f"model {MODEL_NAME!r} has no champion yet: run `lakehouse demo` first")
        try:
            marketing_version = pandas_io.table_version(MARKETING, self.config)
            features_version = pandas_io.table_version(FEATURES, self.config)
            if previous and (version, marketing_version, features_version) == (
                previous.version, previous.marketing_version, previous.features_version
            ):  # fmt: skip
                return previous
            as_of = pandas_io.latest_as_of(MARKETING, self.config)
            where = [("as_of_date", "=", as_of)]
            rows = pandas_io.read_table(MARKETING, self.config, filters=where)
            features = pandas_io.read_table(FEATURES, self.config, filters=where)
        except (FileNotFoundError, ValueError) as exc:
            raise NotReadyError(f"no scores to serve: {first_line(exc)}") from exc
        rows = rows.set_index("customer_id", drop=False).sort_index()
        features = features.set_index("customer_id", drop=False)
        ranked = np.sort(rows["acceptance_probability"].to_numpy(dtype=float))
        _LOG.info("serving %s v%s and %d customers scored as of %s", MODEL_NAME, version, len(rows), as_of)
        return Loaded(
            version, self.model(version), as_of, rows, features, ranked, marketing_version, features_version
        )

    def refresh(self) -> None:
        """Reload what changed; on failure keep serving what was loaded, and say why on /health."""
        try:
            self.loaded = self._load(self.loaded)
            self.refresh_error = None
        except (PipelineError, OSError) as exc:
            self.refresh_error = first_line(exc)
            _LOG.warning("refresh failed, still serving v%s: %s", self.loaded.version, self.refresh_error)

    def current(self) -> Loaded:
        """What to answer with, refreshed first when ``refresh_seconds`` passed since the last look (for
        callers without ``keep_refreshing``)."""
        if time.monotonic() - self._checked >= self.refresh_seconds and self._lock.acquire(blocking=False):
            try:
                self.refresh()
            finally:
                self._checked = time.monotonic()
                self._lock.release()
        return self.loaded

    def keep_refreshing(self) -> threading.Thread:
        """Refresh every ``refresh_seconds`` in a thread of its own: requests never wait for a reload."""

        def loop() -> None:
            while True:
                time.sleep(self.refresh_seconds)
                self.refresh()

        thread = threading.Thread(target=loop, name="refresh", daemon=True)
        thread.start()
        return thread


def client_records(features: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Feature rows as a client sends them to /predict: numbers as floats, categories as text, null as null."""

    def plain(value: Any) -> Any:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        return value if isinstance(value, str) else float(value)

    return [
        {"customer_id": int(row["customer_id"]), **{c: plain(row[c]) for c in columns}}
        for row in features.to_dict("records")
    ]


def columns_of(model: Mapping[str, Any], customers: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The model's raw inputs as columns (a missing or null number is NaN: the training median fills it)."""
    columns: dict[str, list[Any]] = {
        c: [np.nan if r.get(c) is None else float(r[c]) for r in customers] for c in model["numeric"]
    }
    columns |= {c: [r.get(c) for r in customers] for c in model["categorical"]}
    return columns


def answer(
    loaded: Loaded, model: Mapping[str, Any], customers: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each customer's probability, decile among today's scores, expected profit, decisions and reasons."""
    columns = columns_of(model, customers)
    probabilities = portable.probabilities(model, columns)
    explained = portable.reasons(model, columns)
    warned = [
        [*unused(model, customer), *outside]
        for customer, outside in zip(customers, portable.out_of_range(model, columns), strict=True)
    ]
    money, thresholds = model["economics"], model["thresholds"]
    return [
        {
            "customer_id": customer.get("customer_id"),
            **({"as_of_date": str(customer["as_of_date"])} if customer.get("as_of_date") else {}),
            "probability": float(p),
            "decile": decile(loaded.ranked, float(p)),
            "expected_profit": float(p) * money["revenue"] - money["contact_cost"],
            "contact": {o: bool(p >= thresholds[o]) for o in OBJECTIVES},
            "reasons": reasons,
            "warnings": warnings,
            "model_version": loaded.version,
        }
        for customer, p, reasons, warnings in zip(customers, probabilities, explained, warned, strict=True)
    ]


def unused(model: Mapping[str, Any], customer: Mapping[str, Any]) -> list[str]:
    """A warning for each input given that the model leaves out (a column blank when it was trained)."""
    left_out = model.get("left_out") or {}
    return [
        f"{c} is not used by the model: {why}" for c, why in left_out.items() if customer.get(c) is not None
    ]


def request_models(
    model: Mapping[str, Any], features: Sequence[str] = ()
) -> tuple[type[BaseModel], type[BaseModel]]:
    """(one customer, a request of up to MAX_BATCH customers) with the champion's inputs as fields:
    numbers finite, categories as text, each optional (missing: the training median, or "unknown"), and
    ``features``' other numbers, so a ``gold.customer_features`` row is accepted as it is (its keys are
    echoed back; an input the model leaves out is answered with a warning); any other field is refused."""
    number = Annotated[float, Field(allow_inf_nan=False)] | None
    fields: dict[str, Any] = {"customer_id": (int | None, None), "as_of_date": (date | None, None)}
    fields |= {c: (number, None) for c in dict.fromkeys([*model["numeric"], *features])}
    fields |= {c: (str | None, None) for c in model["categorical"]}

    strict = ConfigDict(extra="forbid")
    customer = create_model("Customer", __config__=strict, **fields)
    batch = Annotated[list[customer], Field(min_length=1, max_length=MAX_BATCH)]  # type: ignore[valid-type]
    return customer, create_model("PredictRequest", __config__=strict, customers=(batch, ...))


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts).lstrip(".") or "body"


def create_app(lakehouse: Lakehouse) -> FastAPI:
    app = FastAPI(title="Marketing lakehouse scoring API", version="1")
    every = customer_features.numeric_columns(lakehouse.config.vocabulary)
    _, PredictRequest = request_models(lakehouse.loaded.model, every)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    # the handlers only compute (NumPy on a few rows) over what the refresher loaded: run on the event loop
    @app.get("/health")
    async def health() -> dict[str, Any]:
        loaded = lakehouse.loaded
        return {
            "status": "ok" if lakehouse.refresh_error is None else "stale",
            "model": {
                "name": MODEL_NAME,
                "version": loaded.version,
                "left_out": loaded.model.get("left_out") or {},
            },
            "as_of": loaded.as_of,
            "rows": len(loaded.marketing),
            "tables": {MARKETING: loaded.marketing_version, FEATURES: loaded.features_version},
            "refresh_error": lakehouse.refresh_error,
        }

    @app.post("/predict")
    async def predict(request: PredictRequest) -> dict[str, Any]:  # type: ignore[valid-type]
        loaded = lakehouse.loaded
        customers = [c.model_dump() for c in request.customers]  # type: ignore[attr-defined]
        return {
            "model": {"name": MODEL_NAME, "version": loaded.version},
            "as_of": loaded.as_of,
            "predictions": answer(loaded, loaded.model, customers),
        }

    @app.get("/customers/{customer_id}")
    async def customer(customer_id: int) -> dict[str, Any]:
        loaded = lakehouse.loaded
        if customer_id not in loaded.marketing.index:
            raise HTTPException(404, f"customer {customer_id} has no scores as of {loaded.as_of}")
        row = loaded.marketing.loc[customer_id]
        scored_by = str(row["acceptance_model_version"])
        features = loaded.features
        reasons: list[str] = []
        if customer_id in features.index:
            model = lakehouse.model(scored_by)
            record = features.loc[customer_id].to_dict()
            reasons = portable.reasons(model, columns_of(model, [record]))[0]
        return {
            **{k: _plain(v) for k, v in row.items()},
            "contact": {o: bool(row[customer_marketing.contact_column(o)]) for o in OBJECTIVES},
            "reasons": reasons,
        }

    return app


def _plain(value: Any) -> Any:
    """A pandas/NumPy value as JSON has it."""
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def serve(config: Config, host: str, port: int, refresh_seconds: float = 2.0) -> None:
    """Load the champion and the latest scores (a one-line error when there are none), then serve."""
    import uvicorn

    lakehouse = Lakehouse(config, refresh_seconds)
    lakehouse.keep_refreshing()
    loaded = lakehouse.loaded
    print(
        f"serving {MODEL_NAME} v{loaded.version} and {len(loaded.marketing):,} customers scored as of "
        f"{loaded.as_of} on http://{host}:{port} (docs: /docs)",
        flush=True,
    )
    uvicorn.run(create_app(lakehouse), host=host, port=port, log_level="warning", access_log=False)
