"""Crypto venues (Binance USDT-M futures, Bybit) through ccxt; see ccxt_venue.py."""
