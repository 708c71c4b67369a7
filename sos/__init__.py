"""sos: a sales operating system, as code."""

__version__ = "0.1.0"
