//! `PATCH /api/accounts/{id}`: names and email, by the account itself or an admin.

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
};
use serde_json::{Value, json};
use shared::{
    ApiError, AppState,
    auth::Principal,
    http::{context::RequestContext, extract::ApiJson},
    permissions::{self, Action, Resource, Scope},
    store::{
        accounts::{self, DetailsChange},
        audit::{self, AuditEvent, Severity},
    },
};

use super::not_found;
use crate::request::UpdateAccount;

/// The account as written. A taken email is a 409.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<RequestContext>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateAccount>,
) -> Result<Json<Value>, ApiError> {
    // An account owns itself, so the scope comes from the path: a caller who may not
    // edit others is refused before learning whether the id exists.
    let scope = Scope::of(Some(&principal), id);
    permissions::authorize(
        &state,
        &context,
        Some(&principal),
        Resource::Account,
        Action::Update,
        scope,
    )
    .await?;
    let change = body.parse()?;
    let mut tx = state.db.writer().begin().await?;
    accounts::lock(&mut *tx, id).await?.ok_or_else(not_found)?;
    let account = accounts::update_details(
        &mut *tx,
        id,
        &DetailsChange {
            first_name: change.first_name.as_ref().map(Option::as_ref),
            last_name: change.last_name.as_ref().map(Option::as_ref),
            email: change.email.as_ref(),
        },
    )
    .await?;
    tx.commit().await?;
    let fields = change.fields();
    if !fields.is_empty() {
        audit::record(
            state.db.writer(),
            &context,
            AuditEvent::new(
                "ACCOUNT_UPDATED",
                Severity::Info,
                Some(principal.account_id),
            )
            .details(json!({ "targetAccountId": id, "fields": fields })),
        )
        .await;
    }
    Ok(Json(account.to_json()))
}
