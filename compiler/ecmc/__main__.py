"""`python -m ecmc` runs the command line."""

from ecmc.cli import main

main()
