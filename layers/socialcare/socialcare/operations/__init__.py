"""Operations: incident mode and the audit line of every decision."""
