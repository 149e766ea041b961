pub mod fjall_bulk;
pub mod fjall_store;
pub mod memory;
pub mod redb_store;
pub mod sled_store;

#[cfg(test)]
mod tests {
    use super::fjall_bulk::FjallBulkStore;
    use super::fjall_store::FjallStore;
    use super::memory::{MemoryStore, RecordFileWriter};
    use super::redb_store::RedbStore;
    use super::sled_store::SledStore;
    use crate::store::IndexStore;
    use crate::workload::{CommittedTransfer, Workload, account_id};

    const TRANSFERS: u64 = 30_000;
    const ACCOUNTS: u64 = 40;
    const LIMIT: usize = 50;

    fn transfers() -> Vec<CommittedTransfer> {
        let mut workload = Workload::new(11, TRANSFERS, ACCOUNTS);
        let mut batch = Vec::new();
        let mut all = Vec::new();
        while workload.next_batch(&mut batch) {
            all.extend_from_slice(&batch);
        }
        all
    }

    /// The answer by brute force: the account's newest `LIMIT` transfers, newest first.
    fn expected(all: &[CommittedTransfer], account: u128) -> Vec<u64> {
        all.iter()
            .rev()
            .filter(|t| t.debit_account_id == account || t.credit_account_id == account)
            .take(LIMIT)
            .map(|t| t.position)
            .collect()
    }

    /// Ingests with a checkpoint every third batch, closes, reopens, and checks every account.
    fn store_answers_after_reopen<S: IndexStore>() {
        let dir = tempfile::tempdir().expect("temp dir");
        let all = transfers();
        let mut store = S::create(dir.path()).expect("create");
        let mut records = RecordFileWriter::create(dir.path()).expect("record file");
        for (i, batch) in all.chunks(crate::workload::BATCH_TRANSFERS_MAX).enumerate() {
            records.append(batch).expect("append");
            store.commit(batch, i % 3 == 2).expect("commit");
        }
        records.finish().expect("finish");
        store.close().expect("close");
        let store = S::open(dir.path()).expect("reopen");
        let mut out = Vec::new();
        for index in 0..ACCOUNTS {
            let account = account_id(index);
            out.clear();
            store.latest(account, LIMIT, &mut out).expect("latest");
            assert_eq!(out, expected(&all, account), "account #{index}");
        }
        out.clear();
        store.latest(account_id(ACCOUNTS + 1), LIMIT, &mut out).expect("latest");
        assert!(out.is_empty(), "an account without transfers has no history");
    }

    #[test]
    fn memory_answers_after_rebuild() {
        store_answers_after_reopen::<MemoryStore>();
    }

    #[test]
    fn sled_answers_after_reopen() {
        store_answers_after_reopen::<SledStore>();
    }

    #[test]
    fn fjall_answers_after_reopen() {
        store_answers_after_reopen::<FjallStore>();
    }

    #[test]
    fn fjall_bulk_answers_after_reopen() {
        store_answers_after_reopen::<FjallBulkStore>();
    }

    #[test]
    fn redb_answers_after_reopen() {
        store_answers_after_reopen::<RedbStore>();
    }
}
