"""The failures a user can cause or meet: each message names the table, file, rule or stage at fault, so the
command line prints it as one line instead of a traceback."""


class PipelineError(RuntimeError):
    """A failure whose message says what is at fault and what to do."""


def first_line(exc: BaseException) -> str:
    """An error's first non-blank line; for a JVM error, the Java exception's."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
