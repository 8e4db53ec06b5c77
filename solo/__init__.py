"""Solo: a person's own fediverse server."""

__version__ = "0.1.0"
