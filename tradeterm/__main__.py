"""`python -m tradeterm` is the same as the `tradeterm` command."""

from tradeterm.cli import main

raise SystemExit(main())
