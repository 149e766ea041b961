//! Every bound of the engine, named. Hitting one is a clear error or result code, never a crash.

/// Events per batch: what fits in a 1 MiB message of 128-byte records after its header, as in
/// TigerBeetle (so that benchmarks can be compared batch for batch).
pub const BATCH_EVENTS_MAX: usize = 8189;

/// Timestamps stay below 2^63 nanoseconds (year 2262), so that `timestamp + timeout` can be
/// checked in `u64` and a timestamp always fits a signed 64-bit integer downstream.
pub const TIMESTAMP_MAX: u64 = 1 << 63;

pub const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Sizing of one ledger. `*_max` are hard limits (the result codes `accounts_capacity_reached`
/// and `transfers_capacity_reached` report them); `*_initial_capacity` only pre-sizes the id
/// indexes so that a large book does not rehash on the writer thread while it grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    pub accounts_max: u64,
    pub transfers_max: u64,
    pub accounts_initial_capacity: usize,
    pub transfers_initial_capacity: usize,
}

/// Account positions are kept in the index as `u64`, but accounts live in memory: 2^32 accounts
/// would be 512 GiB of records, far beyond one machine.
pub const ACCOUNTS_MAX_LIMIT: u64 = 1 << 32;
/// Transfer locators use the low 60 bits of an index entry (the top 4 hold the state).
pub const TRANSFERS_MAX_LIMIT: u64 = 1 << 60;

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            accounts_max: 100_000_000,
            transfers_max: 10_000_000_000,
            accounts_initial_capacity: 0,
            transfers_initial_capacity: 0,
        }
    }
}

impl LedgerConfig {
    /// Checks the configuration against the representable limits.
    pub fn validate(&self) -> Result<(), String> {
        if self.accounts_max > ACCOUNTS_MAX_LIMIT {
            return Err(format!("accounts_max {} exceeds {ACCOUNTS_MAX_LIMIT}", self.accounts_max));
        }
        if self.transfers_max > TRANSFERS_MAX_LIMIT {
            return Err(format!("transfers_max {} exceeds {TRANSFERS_MAX_LIMIT}", self.transfers_max));
        }
        Ok(())
    }
}
