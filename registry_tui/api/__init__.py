"""The demo's REST API on the registry core (FastAPI, an optional extra)."""
