"""One exception hierarchy: the CLI turns every ``AisError`` into ``Error: ...`` and exit 1."""


class AisError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(AisError):
    """An input file or path cannot be used (missing, not Parquet, corrupt, wrong columns)."""


class ConfigError(AisError):
    """A configuration value or file is invalid."""


class ModelError(AisError):
    """A saved model cannot be loaded or does not match this version's features."""


class OutputError(AisError):
    """An output file cannot be written (read-only directory, disk full, no such directory)."""
