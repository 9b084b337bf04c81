"""The live `/ws/train` session: its messages, the race it runs, the pacer, presenting."""
