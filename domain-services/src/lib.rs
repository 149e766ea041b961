//! `domain-services`: the loan, repayment, clearing, funds and asset services that submit
//! standard ledger events and derive their state from the change feed.
//!
//! Empty on purpose: nothing here exists yet; later issues build it on top of the server.
