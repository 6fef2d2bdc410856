"""Triage: is a post a complaint about us, in which language, about what."""
