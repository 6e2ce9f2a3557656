"""Every ops table."""

from ops import dq_results, feature_drift, ingest_log, model_promotions, refine_log

TABLES = (ingest_log.TABLE, dq_results.TABLE, model_promotions.TABLE, feature_drift.TABLE, refine_log.TABLE)
