"""``python -m fcnet.cli``: the ``fcnet`` command."""

from fcnet.cli.app import main

raise SystemExit(main())
