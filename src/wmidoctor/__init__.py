"""wmidoctor: finds out why Windows Management Instrumentation (WMI) fails and says how to fix it."""

__version__ = "0.1.0"
