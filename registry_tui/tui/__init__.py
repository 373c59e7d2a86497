"""The terminal front end: Textual screens over the registry core.

Nothing in this package builds CQL or touches the driver. Every database call is one
`registry_tui.core.registry.Registry` operation, run in an async worker with a named group
(`calls.guarded` turns whatever it raises into a value), and every result comes back to the
screen as a message that an `@on` handler renders. Untrusted text reaches a widget only as
`safe_text(...)`/`Content` (see `text.py`), never as markup.
"""
