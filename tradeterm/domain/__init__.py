"""Pure values and rules, no I/O: enums, instruments, market data, signals, orders, positions,
wallets, commands, events and the small FSM that runs every lifecycle."""
