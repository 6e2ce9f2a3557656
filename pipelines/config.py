"""The lakehouse configuration: one typed object, and the only place that builds paths.

Precedence, lowest first: built-in defaults, a TOML file, environment variables, explicit overrides
(command-line flags). Every setting has an environment variable named after it:
``LAKEHOUSE_ROOT`` for a top-level key, ``LAKEHOUSE_<SECTION>_<KEY>`` for a key of a section
(``LAKEHOUSE_SPARK_MASTER``, ``LAKEHOUSE_MODEL_SEED``); lists are comma-separated.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import tomllib

DEFAULT_CATEGORIES = ("wines", "fruits", "meat", "fish", "sweets", "gold")
DEFAULT_CHANNELS = ("web", "catalog", "store")
LAYERS = ("bronze", "silver", "gold", "ops")
CATALOGS = ("hive", "in-memory")
CONFIG_ENV = "LAKEHOUSE_CONFIG"
DEFAULT_CONFIG_FILE = "lakehouse.toml"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class Vocabulary:
    """The product categories and order channels of the platform (configuration, not code)."""

    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    channels: tuple[str, ...] = DEFAULT_CHANNELS


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[*]"
    shuffle_partitions: int = 0  # 0: sized to the landing zone's bytes (one per core on small data)
    driver_memory: str = "2g"
    log_level: str = "ERROR"
    parallel_tables: int = 3  # tables processed at once within a stage
    catalog: str = "hive"  # "hive": tables persist by name in <root>/catalog; "in-memory": per session
    java_options: str = ""  # options of the driver's and the executors' JVMs (when Spark starts them)
    ui: bool = False  # Spark's web UI (http://localhost:4040) while a command runs

    def __post_init__(self) -> None:
        if self.catalog not in CATALOGS:
            raise ConfigError(f"spark.catalog must be one of {CATALOGS}, not {self.catalog!r}")


CHANGED_POLICIES = ("refuse", "ingest")


@dataclass(frozen=True)
class IngestSettings:
    settle_seconds: int = 60  # a file modified more recently may still be being written: next run
    # a landed name delivered again with other content: "refuse" (logged as changed, named in an error
    # line; its rows stay out) or "ingest" (appended as a new delivery; silver keeps the newest rows)
    on_changed: str = "refuse"
    # one record per line: a longer line is no record (a whole export on one line, a dump), refused
    max_line_bytes: int = 8 << 20

    def __post_init__(self) -> None:
        if self.on_changed not in CHANGED_POLICIES:
            raise ConfigError(f"ingest.on_changed must be one of {CHANGED_POLICIES}, not {self.on_changed!r}")
        if int(self.settle_seconds) < 0:
            raise ConfigError(f"ingest.settle_seconds must be 0 or more, not {self.settle_seconds!r}")
        if int(self.max_line_bytes) < 1024:
            raise ConfigError(f"ingest.max_line_bytes must be 1024 or more, not {self.max_line_bytes!r}")


VALID_FROM_POLICIES = ("signup", "updated_at")
PROFILES = ("delivery", "grocery")


@dataclass(frozen=True)
class QualitySettings:
    max_quarantine_share: float = 0.2  # a silver table quarantining more of its rows fails the run
    # per-table exceptions, "silver.orders=0.5"
    max_quarantine_shares: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for entry in self.max_quarantine_shares:
            _, _, share = entry.partition("=")
            try:
                float(share)
            except ValueError:
                raise ConfigError(
                    f"quality.max_quarantine_shares entry {entry!r} must read <table>=<share>, e.g. silver.orders=0.5"
                ) from None

    def share_for(self, table: str) -> float:
        shares = {t: float(v) for t, _, v in (e.partition("=") for e in self.max_quarantine_shares)}
        return shares.get(table, self.max_quarantine_share)


@dataclass(frozen=True)
class FeatureSettings:
    lookback_days: int = 730
    web_visit_days: int = 30
    # when a customer's first known attributes start to apply: "signup" (a snapshot export describes the
    # customer since sign-up) or "updated_at" (only from the export's timestamp)
    customer_history_valid_from: str = "signup"

    def __post_init__(self) -> None:
        if self.customer_history_valid_from not in VALID_FROM_POLICIES:
            raise ConfigError(
                f"features.customer_history_valid_from must be one of {VALID_FROM_POLICIES}, "
                f"not {self.customer_history_valid_from!r}"
            )


@dataclass(frozen=True)
class ModelSettings:
    experiment: str = "marketing-lakehouse"
    seed: int = 42
    segment_k_min: int = 3
    segment_k_max: int = 6
    segment_max_iter: int = 30
    segment_min_share: float = 0.02  # k is only chosen if its smallest segment holds this share of customers
    holdout_fraction: float = 0.2
    reg_param: float = 0.01
    reg_params: tuple[float, ...] = (0.003, 0.01)  # the grid searched by cross-validation
    positive_weights: tuple[float, ...] = (1.0, 3.0)  # acceptor weight vs refuser (class weighting)
    cv_folds: int = 3
    tree_baseline: bool = True  # compare with gradient-boosted trees: the slowest part of training
    drift_psi_threshold: float = 0.2  # a feature whose PSI or KS statistic exceeds these is flagged
    drift_ks_threshold: float = 0.1
    response_window_days: int = 14
    contact_cost: float = 3.0
    revenue_per_acceptance: float = 11.0
    training_window_days: int = 365  # campaigns whose responses became final this recently train the model
    min_holdout_acceptances: int = 30  # the latest campaigns are the holdout when they hold this many
    max_training_rows: int = 200_000  # above this, refusals are downsampled (weights corrected) for speed
    # model selection (folds x grid, the baselines, the k search) fits in memory on at most this many rows
    selection_rows: int = 200_000
    # inputs the acceptance model leaves out (with what derives from them); training adds every input that is
    # blank in all its rows
    left_out_inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampleSettings:
    customers: int = 5000
    seed: int = 7
    end_date: date = date(2026, 6, 30)
    profile: str = (
        "delivery"  # "grocery": store only, blank demographics, one snapshot export, many campaigns
    )

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ConfigError(f"sample.profile must be one of {PROFILES}, not {self.profile!r}")


@dataclass(frozen=True)
class Config:
    root: Path = Path("lakehouse")
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    spark: SparkSettings = field(default_factory=SparkSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    sample: SampleSettings = field(default_factory=SampleSettings)

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(self.categories, self.channels)

    # --- the only place that builds paths -------------------------------------------------------
    @property
    def landing_dir(self) -> Path:
        return self.root / "landing"

    @property
    def lock_path(self) -> Path:
        """The file whose lock a writing command holds (``pipelines.lock``)."""
        return self.root / ".writer.lock"

    @property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def catalog_dir(self) -> Path:
        """The persistent table catalog (an embedded Hive metastore) and its warehouse."""
        return self.root / "catalog"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def mlflow_tracking_uri(self) -> str:
        return f"sqlite:///{(self.mlflow_dir / 'mlflow.db').resolve()}"

    @property
    def mlflow_artifact_location(self) -> str:
        return (self.mlflow_dir / "artifacts").resolve().as_uri()

    def landing(self, source: str) -> Path:
        """The folder raw files of one source land in, e.g. ``landing/orders``."""
        return self.landing_dir / source

    def table_path(self, name: str) -> Path:
        """``silver.orders`` -> ``<root>/tables/silver/orders``."""
        layer, _, table = name.partition(".")
        if layer not in LAYERS or not table:
            raise ConfigError(f"table name {name!r} must be <layer>.<table> with layer in {LAYERS}")
        return self.tables_dir / layer / table


def _coerce(value: Any, like: Any, key: str) -> Any:
    """Convert a TOML or environment value to the type of the default it replaces."""
    try:
        if isinstance(like, bool):
            if isinstance(value, str):
                word = value.strip().lower()
                if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    raise ValueError("not true or false")
                return word in ("1", "true", "yes", "on")
            if not isinstance(value, bool):
                raise ValueError("not true or false")
            return value
        if isinstance(like, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            cleaned = tuple(str(v).strip() for v in items if str(v).strip())
            if not cleaned:
                raise ValueError("empty list")
            element = type(like[0]) if like else str
            return tuple(element(v) for v in cleaned)
        if isinstance(like, Path):
            return Path(value)
        if isinstance(like, date):
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config key {key!r}: cannot use {value!r} ({exc})") from exc


def _apply(obj: Any, values: Mapping[str, Any], prefix: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown config key '{prefix}{key}'; known: {sorted(known)}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key '{prefix}{key}' must be a table/section")
            changes[key] = _apply(current, value, f"{prefix}{key}.")
        else:
            changes[key] = _coerce(value, current, f"{prefix}{key}")
    return dataclasses.replace(obj, **changes)


def _from_environment(defaults: Config, environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(defaults):
        current = getattr(defaults, f.name)
        if dataclasses.is_dataclass(current):
            section = {
                sub.name: environ[var]
                for sub in dataclasses.fields(current)
                if (var := f"LAKEHOUSE_{f.name}_{sub.name}".upper()) in environ
            }
            if section:
                values[f.name] = section
        elif (var := f"LAKEHOUSE_{f.name}".upper()) in environ:
            values[f.name] = environ[var]
    return values


def load_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the configuration. ``path`` defaults to $LAKEHOUSE_CONFIG, then ./lakehouse.toml if present.

    A relative ``root`` in a file is relative to that file's folder, so a config works from any directory.
    """
    environ = os.environ if environ is None else environ
    config = Config()
    chosen = path or environ.get(CONFIG_ENV)
    if chosen is None and Path(DEFAULT_CONFIG_FILE).is_file():
        chosen = DEFAULT_CONFIG_FILE
    if chosen is not None:
        file = Path(chosen)
        if not file.is_file():
            raise ConfigError(f"config file {file} does not exist")
        try:
            data = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from exc
        config = _apply(config, data, "")
        if "root" in data and not config.root.is_absolute():
            config = dataclasses.replace(config, root=file.parent / config.root)
    config = _apply(config, _from_environment(config, environ), "")
    if overrides:
        config = _apply(config, {k: v for k, v in overrides.items() if v is not None}, "")
    return dataclasses.replace(config, root=config.root.resolve())
