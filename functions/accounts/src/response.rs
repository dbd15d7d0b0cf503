//! What the accounts routes answer. The account objects themselves are shared with
//! auth ([`shared::response`]); this is the choice between them.

use serde::Serialize;
use shared::response::{Account, PublicAccount};

/// `GET /api/accounts/{id}`: the whole account for its owner and admins, the public
/// fields for anyone else signed in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AccountView {
    Full(Account),
    Public(PublicAccount),
}
