"""WMI repository reader (public API assembled below once complete)."""
