"""The ``finegate`` command line and the harness's own commands.

Packages above harness add theirs through the ``finegate.commands`` entry point
group; the shared options and output helpers here are their public face.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "cli": "_main",
    "main": "_main",
    "EXIT_BAD_INPUT": "_main",
    "emit_json": "_options",
    "store_option": "_options",
    "json_option": "_options",
    "open_store": "_options",
    "system_spec": "_options",
    "system_from_options": "_options",
    "registry_option": "_options",
    "checkpoints_option": "_options",
    "actor_option": "_options",
    "resolve_actor": "_options",
    "store_and_registry": "_options",
    "model_options": "_options",
    "trust_root_option": "_options",
    "key_option": "_options",
    "make_console": "_display",
    "print_metrics_brief": "_display",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
