"""Format readers, one package per artifact kind; they know formats, never WMI judgement."""
