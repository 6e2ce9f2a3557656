"""Writing sample data into a lakehouse's landing zone, as `lakehouse generate` and `lakehouse demo` do."""

from __future__ import annotations

from datetime import date

from pipelines.config import Config
from pipelines.log import get_logger, step
from sample.defects import inject_defects
from sample.generator import generate
from sample.grocery import generate_grocery


def landing_has_files(config: Config) -> bool:
    return config.landing_dir.is_dir() and any(p.is_file() for p in config.landing_dir.rglob("*"))


def write(
    config: Config,
    customers: int | None = None,
    seed: int | None = None,
    end_date: date | None = None,
    defect_rate: float = 0.0,
    overwrite: bool = False,
    profile: str | None = None,
) -> None:
    """Generate the sample's raw files (the config's sample settings and profile by default), spoil
    ``defect_rate`` of them on purpose, and log what was written; refuses a landing zone that holds files
    unless told."""
    if landing_has_files(config) and not overwrite:
        raise ValueError(
            f"the landing zone {config.landing_dir} already holds files; pass --overwrite to write over them"
        )
    customers, seed = customers or config.sample.customers, config.sample.seed if seed is None else seed
    log = get_logger()
    profile, end = profile or config.sample.profile, end_date or config.sample.end_date
    with step(
        f"generate: {customers} customers of the {profile} profile (seed {seed}) into {config.landing_dir}"
    ):
        if profile == "grocery":
            summary = generate_grocery(config.landing_dir, customers, seed, end, config.categories)
        else:
            summary = generate(config.landing_dir, customers, seed, end, config.categories, config.channels)
    if defect_rate:
        hit = inject_defects(config.landing_dir, defect_rate, seed)
        log.info("  defects injected: %s", ", ".join(f"{k} {len(v)}" for k, v in sorted(hit.items())))
    for source, rows in summary.rows.items():
        log.info("  %-18s %4d file(s) %9d rows", source, summary.files[source], rows)
