"""Protocol simulators over real loopback sockets (Deriv, Binance USDT-M, Bybit).

One module per venue, each with `add_arguments(parser)` and `run(args) -> int` for
`tradeterm sim-server KIND` (see tradeterm/cli_simserver.py), plus an importable server class the
tests start in-process.
"""
