"""Every ops table."""

from ops import dq_results, feature_drift, ingest_log, model_promotions

TABLES = (ingest_log.TABLE, dq_results.TABLE, model_promotions.TABLE, feature_drift.TABLE)
