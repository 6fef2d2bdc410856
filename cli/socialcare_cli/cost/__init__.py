"""`socialcare cost`: what socialcare costs to run, from measured figures (docs/cost.md)."""
