"""EV charging infrastructure insight: Dagster assets for the eConnect report and UK charger models."""
