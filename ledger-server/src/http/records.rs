//! `GET /v1/accounts/{id}` and `GET /v1/transfers/{id}`: one record by id, answered by the
//! writer as of a durable op.

use super::HttpState;
use super::error::{ApiError, ErrorCode};
use super::params::{PathId, parse_id};
use crate::json::{account_json, transfer_json};
use axum::Json;
use axum::extract::State;
use serde_json::Value;

pub async fn account(State(state): State<HttpState>, id: PathId) -> Result<Json<Value>, ApiError> {
    let id = parse_id(id)?;
    let accounts = state.service.lookup_accounts(vec![id]).await?;
    let account = accounts.first().ok_or(ApiError::bare(ErrorCode::AccountNotFound))?;
    Ok(Json(account_json(account)))
}

pub async fn transfer(State(state): State<HttpState>, id: PathId) -> Result<Json<Value>, ApiError> {
    let id = parse_id(id)?;
    let transfers = state.service.lookup_transfers(vec![id]).await?;
    let transfer = transfers.first().ok_or(ApiError::bare(ErrorCode::TransferNotFound))?;
    Ok(Json(transfer_json(transfer)))
}
