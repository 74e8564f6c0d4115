"""Reference models, built only from Axonal's public API (layer 8)."""
