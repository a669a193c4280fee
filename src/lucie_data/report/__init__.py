"""The provenance report (aggregate → render) and document lineage (trace)."""
