"""The framework: the only code that knows SparkSession, config, paths, Delta, MLflow and logging."""
