"""The registry core: settings, rules, database operations and their typed outcomes.

No front-end imports (typer, textual, fastapi, uvicorn, rich): see the import contracts.
"""
