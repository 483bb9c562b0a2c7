"""``python -m finegate.harness.cli``: the ``finegate`` command."""

from finegate.harness.cli._main import main

main()
