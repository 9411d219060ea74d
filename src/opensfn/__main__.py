"""``python -m opensfn`` is the ``opensfn`` command."""

from opensfn.client.cli import main

main()
