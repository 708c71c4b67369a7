"""sos: a sales operating system, as code. Installed as the distribution `sos-crm` (`pipx install sos-crm`); the
command is `sos`."""

__version__ = "0.1.0"
