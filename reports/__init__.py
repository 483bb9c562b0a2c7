"""The HTML report renderer for compliance officers.

Not built yet: ``finegate report`` arrives with the renderer.
"""

__all__: list[str] = []
