"""socialcare: notice public complaints about a brand and offer help privately by e-mail."""

__version__ = "0.1.0"
