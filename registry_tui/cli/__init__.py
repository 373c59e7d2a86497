"""`registry`: the headless front end (typer)."""
