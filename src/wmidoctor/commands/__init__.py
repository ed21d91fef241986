"""Click commands, one module per verb; each exposes `command`."""
