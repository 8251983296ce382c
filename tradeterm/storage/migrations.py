"""Schema migrations, applied in order by SQLite's user_version.

Tables keep the columns queries filter on plus a `data` JSON column holding the whole domain value
(see codec.py), so a row always round-trips to the exact object that was stored. Append a new
migration to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: initial schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_ms INTEGER NOT NULL);
    CREATE TABLE wallets (id TEXT PRIMARY KEY, mode TEXT NOT NULL, domain TEXT NOT NULL,
        updated_ms INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE positions (wallet_id TEXT NOT NULL, venue TEXT NOT NULL, symbol TEXT NOT NULL,
        updated_ms INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (wallet_id, venue, symbol));
    CREATE TABLE trades (id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, arm TEXT NOT NULL,
        symbol TEXT NOT NULL, closed_ms INTEGER NOT NULL, pnl REAL NOT NULL, r_multiple REAL NOT NULL,
        data TEXT NOT NULL);
    CREATE INDEX trades_wallet ON trades (wallet_id, closed_ms);
    CREATE TABLE orders (client_order_id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL,
        venue TEXT NOT NULL, symbol TEXT NOT NULL, status TEXT NOT NULL, purpose TEXT NOT NULL,
        signal_id TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
        data TEXT NOT NULL, plan TEXT);
    CREATE INDEX orders_status ON orders (status);
    CREATE TABLE order_events (id INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL,
        source TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL, ts_ms INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '');
    CREATE INDEX order_events_order ON order_events (client_order_id);
    CREATE TABLE fills (fill_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL,
        wallet_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX fills_order ON fills (client_order_id);
    CREATE TABLE signals (id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, strategy TEXT NOT NULL,
        symbol TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX signals_ts ON signals (ts_ms);
    CREATE TABLE allocations (id INTEGER PRIMARY KEY AUTOINCREMENT, signal_id TEXT NOT NULL,
        arm TEXT NOT NULL, taken INTEGER NOT NULL, ts_ms INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE risk_decisions (id TEXT PRIMARY KEY, signal_id TEXT NOT NULL, wallet_id TEXT NOT NULL,
        verdict TEXT NOT NULL, ts_ms INTEGER NOT NULL, reasons TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX risk_decisions_ts ON risk_decisions (ts_ms);
    CREATE TABLE confirmations (id TEXT PRIMARY KEY, status TEXT NOT NULL, wallet_id TEXT NOT NULL,
        created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX confirmations_status ON confirmations (status);
    CREATE TABLE stage_transitions (id INTEGER PRIMARY KEY AUTOINCREMENT, from_index INTEGER NOT NULL,
        to_index INTEGER NOT NULL, event TEXT NOT NULL, ts_ms INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE allocator_arms (arm TEXT PRIMARY KEY, updated_ms INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE audit (id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, source TEXT NOT NULL,
        action TEXT NOT NULL, ok INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX audit_ts ON audit (ts_ms);
    CREATE TABLE equity (wallet_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, equity REAL NOT NULL,
        balance REAL NOT NULL, unrealized REAL NOT NULL, PRIMARY KEY (wallet_id, ts_ms));
    """,
    # 2: measured slippage of every fill and the per-pair models fitted to it
    """
    CREATE TABLE IF NOT EXISTS slippage (fill_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL,
        wallet_id TEXT NOT NULL, venue TEXT NOT NULL, symbol TEXT NOT NULL, side INTEGER NOT NULL,
        purpose TEXT NOT NULL, liquidity TEXT NOT NULL, qty REAL NOT NULL, notional REAL NOT NULL,
        ref_price REAL NOT NULL, fill_price REAL NOT NULL, bps REAL NOT NULL,
        half_spread_bps REAL NOT NULL, atr REAL NOT NULL, vol_bps REAL NOT NULL,
        ts_ms INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS slippage_pair ON slippage (venue, symbol, ts_ms);
    CREATE TABLE IF NOT EXISTS slippage_fits (id INTEGER PRIMARY KEY AUTOINCREMENT,
        venue TEXT NOT NULL, symbol TEXT NOT NULL, fitted_ms INTEGER NOT NULL, n INTEGER NOT NULL,
        params TEXT NOT NULL, residual REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS slippage_fits_pair ON slippage_fits (venue, symbol, fitted_ms);
    CREATE INDEX IF NOT EXISTS orders_signal ON orders (signal_id);
    """,
    # 3: reconciliation differences (issue 13); IF NOT EXISTS so the order of appended
    # migrations from parallel branches cannot break an existing database
    """
    CREATE TABLE IF NOT EXISTS reconcile_diffs (id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL,
        status TEXT NOT NULL, last_seen_ms INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS reconcile_diffs_status ON reconcile_diffs (status, last_seen_ms);
    """,
)
