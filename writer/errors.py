"""Domain errors. Library code raises these; only the CLI turns them into one line and an exit code."""


class WriterError(Exception):
    """Base of every error writer raises on purpose. Runtime failures: exit code 1."""

    exit_code = 1


class UsageError(WriterError):
    """The user asked for something that cannot be done as asked (bad input, unknown name): exit code 2."""

    exit_code = 2


class UnknownRunError(UsageError):
    """No run with that id in the store."""


class UnknownJobError(UsageError):
    """No dataset job with that name in the store."""


class EngineConfigError(UsageError):
    """The engine cannot be built from the given options (unknown engine, missing model, unreachable URL)."""


class EngineError(WriterError):
    """The engine failed while generating."""


class PlanError(WriterError):
    """No usable plan could be made."""


class UnknownModelError(UsageError):
    """No registered local model has that name (`writer models list` shows them)."""


class ModelInstallError(WriterError):
    """A registered model could not be installed (pip failed, a chunk is missing or corrupt, conversion failed)."""
