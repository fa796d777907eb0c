"""The one family of errors the user sees.

The command line and the page catch ``RagError`` in one place and show ``str(error)``
as it is, so every library error a user can cause or fix derives from it, and its
message is one sentence that names the fix.  Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class RagError(Exception):
    """An error the user can cause or fix; ``str(error)`` is one sentence naming the fix."""
