"""Domain errors. Library code raises these; only the CLI turns them into one line and an exit code."""


class WriterError(Exception):
    """Base of every error writer raises on purpose. Runtime failures: exit code 1."""

    exit_code = 1


class UsageError(WriterError):
    """The user asked for something that cannot be done as asked (bad input, unknown name): exit code 2.

    `option` names the argument at fault ("words"), so a front end can say it its own way: the CLI shows the
    flag (`--words must be ...`); the library's message names the argument, never a flag.
    """

    exit_code = 2

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class UnknownRunError(UsageError):
    """No run with that id in the store."""


class UnknownJobError(UsageError):
    """No dataset job with that name in the store."""


class EngineConfigError(UsageError):
    """The engine cannot be built from the given options (unknown engine, missing model, unreachable URL)."""


class EngineError(WriterError):
    """The engine failed while generating."""


class UnknownModelError(UsageError):
    """No registered local model has that name (`writer models list` shows them)."""


class ModelInstallError(WriterError):
    """A registered model could not be installed (pip failed, a chunk is missing or corrupt, conversion failed)."""


class EmptyExportError(WriterError):
    """An export whose filters left no record: nothing was written. `cli_message` says it with the flags."""

    def __init__(self, message: str, cli_message: str | None = None):
        super().__init__(message)
        self.cli_message = cli_message or message


class OutputError(WriterError):
    """A file writer was asked to write could not be written (a full disk, no permission): exit code 1. What was
    there before is unchanged (`writer.atomic`), and the run that wrote it can be resumed to write it again."""


class RunBusyError(UsageError):
    """Another live process is writing that run; resuming it here would write it twice."""
