"""Sources of public mentions, each behind the `Source` port (socialcare.ports)."""
