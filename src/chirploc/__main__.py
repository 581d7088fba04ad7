"""`python -m chirploc`: the `chirploc` command."""

from chirploc.cli import main

main()
