"""MLflow: a local tracking store and model registry under the lakehouse, Spark models, aliases.

Training is idempotent: a model version is tagged with a fingerprint of its training data and
parameters, and training the same data again reuses that version instead of registering a copy.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mlflow
import mlflow.spark
import pyspark
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame

from pipelines import failpoints
from pipelines.config import Config
from pipelines.errors import PipelineError, first_line
from pipelines.tables import digest

CHAMPION = "champion"
# Fitted pipelines this Spark application registered or loaded, by (application, registry, model, version).
# A version's artifacts never change, so scoring with the model training just fitted, and the drift check
# after it, read no model files again: a load costs ~20 Spark jobs (each stage's metadata and data).
_FITTED: dict[tuple[str, str, str, str], PipelineModel] = {}
FINGERPRINT_TAG = "training_fingerprint"


class ModelNotFoundError(PipelineError):
    """No model version carries the requested alias (the model was never trained)."""


class RegistryError(PipelineError):
    """The registry did not answer (a locked or broken store): not the same as "no such model"."""


class ModelLoadError(PipelineError):
    """A registered version whose artifacts cannot be read back (deleted or damaged files)."""


def _not_found(exc: MlflowException) -> bool:
    """A model or alias that does not exist, as opposed to a registry that failed to answer."""
    return exc.error_code == "RESOURCE_DOES_NOT_EXIST" or (
        exc.error_code == "INVALID_PARAMETER_VALUE" and "not found" in str(exc.message)
    )


def _failed(action: str, exc: MlflowException) -> RegistryError:
    first = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else type(exc).__name__
    return RegistryError(f"model registry: {action} failed: {first}")


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: str
    run_id: str
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    reused: bool = False


def configure(config: Config) -> MlflowClient:
    """Point MLflow at the lakehouse's store and select the experiment (created on first use)."""
    for name in ("mlflow", "alembic", "mlflow.store.db.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)
    config.mlflow_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(config.mlflow_tracking_uri)
    mlflow.set_registry_uri(config.mlflow_tracking_uri)
    experiment = config.model.experiment
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=config.mlflow_artifact_location)
    mlflow.set_experiment(experiment)
    return MlflowClient()


def reader(config: Config) -> MlflowClient:
    """A client of the lakehouse's registry that writes nothing (no experiment created): for readers such
    as `lakehouse serve`."""
    for name in ("mlflow", "alembic", "mlflow.store.db.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if not config.mlflow_dir.is_dir():
        raise ModelNotFoundError(f"no model registry under {config.mlflow_dir}; run `lakehouse demo` first")
    mlflow.set_tracking_uri(config.mlflow_tracking_uri)
    mlflow.set_registry_uri(config.mlflow_tracking_uri)
    return MlflowClient()


def champion_version(client: MlflowClient, name: str) -> str | None:
    """The champion's version number alone (one registry query); None when there is no champion."""
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise _failed(f"reading the alias {CHAMPION!r} of {name!r}", exc) from exc


def has_artifact(client: MlflowClient, run_id: str, artifact: str) -> bool:
    try:
        return any(f.path == artifact for f in client.list_artifacts(run_id))
    except MlflowException as exc:
        raise _failed(f"listing the artifacts of run {run_id}", exc) from exc


def add_dict(client: MlflowClient, run_id: str, value: Mapping[str, Any], artifact: str) -> None:
    """Add a JSON artifact to a finished run (a version registered before it carried ``artifact``)."""
    try:
        client.log_dict(run_id, dict(value), artifact)
    except MlflowException as exc:
        raise _failed(f"adding {artifact} to run {run_id}", exc) from exc


def add_curve(client: MlflowClient, run_id: str, curve: Any, artifact: str, metric: str) -> None:
    """Add a curve to a finished run: the table (``rows`` and ``roc_auc`` columns and more) as a JSON
    artifact, and ``metric`` at each step ``rows``."""
    try:
        client.log_dict(run_id, {"columns": list(curve.columns), "data": curve.values.tolist()}, artifact)
        for point in curve.itertuples():
            client.log_metric(run_id, metric, float(point.roc_auc), step=int(point.rows))
    except MlflowException as exc:
        raise _failed(f"adding {artifact} to run {run_id}", exc) from exc


def logged_table(client: MlflowClient, run_id: str, artifact: str) -> Any:
    """A table logged with ``mlflow.log_table`` as pandas; None when the run has none."""
    import pandas as pd

    if not has_artifact(client, run_id, artifact):
        return None
    loaded = mlflow.artifacts.load_dict(f"runs:/{run_id}/{artifact}")
    return pd.DataFrame(loaded["data"], columns=loaded["columns"])


def artifact_file(client: MlflowClient, run_id: str, artifact: str) -> str | None:
    """A local path to an artifact of a run; None when the run has none."""
    if not has_artifact(client, run_id, artifact):
        return None
    return str(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact))


def logged_dict(client: MlflowClient, name: str, version: str, artifact: str) -> dict[str, Any]:
    """A JSON artifact of the run that registered ``version`` of ``name``."""
    try:
        run_id = client.get_model_version(name, version).run_id
        loaded = mlflow.artifacts.load_dict(f"runs:/{run_id}/{artifact}")
    except MlflowException as exc:
        if not _not_found(exc):
            raise _failed(f"reading {artifact} of {name!r} version {version}", exc) from exc
        loaded = None
    except OSError:
        loaded = None
    if not isinstance(loaded, dict):
        raise ModelLoadError(
            f"version {version} of {name!r} has no readable {artifact} (registered before versions carried it, or "
            "its artifacts are damaged): `lakehouse train` adds it to the champion; or roll back"
        )
    return loaded


def fingerprint(df: DataFrame, columns: Sequence[str], params: Mapping[str, Any]) -> str:
    """A content hash of the training data (order-independent) and the training parameters."""
    rows, summed = digest(df, columns)
    payload = json.dumps({"n": rows, "h": str(summed), "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _describe(client: MlflowClient, version: ModelVersion, reused: bool) -> RegisteredModel:
    metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
    return RegisteredModel(
        version.name, str(version.version), version.run_id or "", metrics, dict(version.tags or {}), reused
    )


def find_trained(client: MlflowClient, name: str, fingerprint_value: str) -> RegisteredModel | None:
    """The newest version of ``name`` trained on exactly this data and these parameters, if any."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise _failed(f"listing the versions of {name!r}", exc) from exc
    matching = [v for v in versions if (v.tags or {}).get(FINGERPRINT_TAG) == fingerprint_value]
    if not matching:
        return None
    return _describe(client, max(matching, key=lambda v: int(v.version)), reused=True)


def champion(client: MlflowClient, name: str) -> RegisteredModel | None:
    """The champion version; None when the model has no champion yet."""
    try:
        return get_alias(client, name)
    except ModelNotFoundError:
        return None


def log_model(
    client: MlflowClient, model: PipelineModel, name: str, tags: Mapping[str, str]
) -> RegisteredModel:
    """Log a fitted Spark pipeline in the active run and register it as a new version of ``name``."""
    info = mlflow.spark.log_model(
        model,
        artifact_path=name,
        registered_model_name=name,
        # Listing requirements explicitly skips MLflow's import-capturing subprocess (~20 s per model).
        pip_requirements=[f"pyspark=={pyspark.__version__}"],
    )
    version = str(info.registered_model_version)
    _FITTED[_fitted_key(name, version)] = model
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    failpoints.reach(f"registered {name}")
    active = mlflow.active_run()
    run_id = active.info.run_id if active else ""
    metrics = client.get_run(run_id).data.metrics if run_id else {}
    return RegisteredModel(name, version, run_id, metrics, dict(tags))


def set_alias(client: MlflowClient, name: str, version: str, alias: str = CHAMPION) -> None:
    client.set_registered_model_alias(name, alias, version)


def get_alias(client: MlflowClient, name: str, alias: str = CHAMPION) -> RegisteredModel:
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if not _not_found(exc):
            raise _failed(f"reading the alias {alias!r} of {name!r}", exc) from exc
        raise ModelNotFoundError(
            f"no version of model {name!r} has the alias {alias!r}; run `lakehouse train` first"
        ) from exc
    return _describe(client, version, reused=False)


def _fitted_key(name: str, version: str) -> tuple[str, str, str, str]:
    context = pyspark.SparkContext._active_spark_context
    return (context.applicationId if context else "", mlflow.get_registry_uri(), name, version)


def load_model(name: str, alias: str = CHAMPION, version: str | None = None) -> PipelineModel:
    """The version with ``alias``, or the numbered ``version`` when given (read once per process)."""
    uri = f"models:/{name}/{version}" if version else f"models:/{name}@{alias}"
    try:
        version = version or MlflowClient().get_model_version_by_alias(name, alias).version
        key = _fitted_key(name, str(version))
        if key not in _FITTED:
            _FITTED[key] = mlflow.spark.load_model(f"models:/{name}/{version}")
        return _FITTED[key]
    except MlflowException as exc:
        if _not_found(exc):
            raise ModelNotFoundError(f"{uri} does not exist; run `lakehouse train` first") from exc
        raise _failed(f"loading {uri}", exc) from exc
    except Exception as exc:  # the artifacts: missing files, unreadable metadata or data
        raise ModelLoadError(
            f"{uri} cannot be loaded ({type(exc).__name__}: {first_line(exc)[:300]}): its artifacts are damaged "
            f"or missing; roll back (`lakehouse models rollback --model {name}`) or retrain"
        ) from exc


def log(
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    dicts: Mapping[str, Mapping[str, Any]] | None = None,
    tables: Mapping[str, Any] | None = None,
) -> None:
    """Log to the active run: parameters (lists as JSON), metrics, JSON artifacts and pandas tables."""
    if params:
        mlflow.log_params({k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()})
    if metrics:
        mlflow.log_metrics(dict(metrics))
    for name, value in (dicts or {}).items():
        mlflow.log_dict(dict(value), name)
    for name, frame in (tables or {}).items():
        mlflow.log_table(frame, name)
