"""``python -m neurodis`` runs the command-line interface."""

from neurodis.cli import main

raise SystemExit(main())
