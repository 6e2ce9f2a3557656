"""The failures a user can cause or meet: each message names the table, file, rule or stage at fault, so the
command line prints it as one line instead of a traceback."""


class PipelineError(RuntimeError):
    """A failure whose message says what is at fault and what to do."""
