//! Any text as a chart of accounts and entry templates (`Chart::from_toml`): the loader never
//! panics (a bad file is a `ConfigError` naming the file, template and field), and a chart it
//! accepts plans an event of every template without panicking: each planned entry balances and
//! posts only accounts of the template's ledger.

#![no_main]

use ledger_events::{Chart, WireEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(chart) = Chart::from_toml("fuzz.toml", text) else { return };
    let _ = chart.version();
    for template in chart.templates() {
        // Every component 1.00 (or 1 at scale 0), every subject the postings name.
        let scale = chart.ledger(template.ledger).map_or(0, |l| l.scale);
        let amount = if scale == 0 { "1".to_owned() } else { format!("1.{}", "0".repeat(usize::from(scale))) };
        let components: Vec<String> =
            template.components.iter().map(|c| format!("{c:?}:{amount:?}")).collect();
        let subjects: Vec<String> = template
            .postings
            .iter()
            .flat_map(|p| [&p.debit.subject_key, &p.credit.subject_key])
            .flatten()
            .map(|key| format!("{key:?}:\"S1\""))
            .collect();
        let line = format!(
            r#"{{"type":"event","event_id":"E1","event_type":{:?},"ledger":{},"subjects":{{{}}},"components":{{{}}},"business_date":"2024-01-01"}}"#,
            template.event_type,
            template.ledger,
            subjects.join(","),
            components.join(","),
        );
        let Ok(WireEvent::Entry(event)) = WireEvent::from_json(&line) else { continue };
        let Ok(plan) = chart.plan(&event) else { continue };
        for account in plan.accounts_to_open() {
            assert_eq!(account.ledger, template.ledger, "an entry stays in its template's ledger");
        }
        if let Ok(transfers) = plan.transfers(1) {
            for transfer in &transfers {
                assert_eq!(transfer.ledger, template.ledger);
                assert_ne!(transfer.debit_account_id, 0);
                assert_ne!(transfer.credit_account_id, 0);
            }
        }
    }
});
