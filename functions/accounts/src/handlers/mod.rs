//! Account handlers, one file per job. Reads use the reader pool (writer fallback);
//! writes, and the reads that guard them, run in one writer transaction and answer
//! from the writer's own rows.

mod admins;
pub mod create;
pub mod delete;
pub mod read;
pub mod role;
pub mod update;

use shared::ApiError;

fn not_found() -> ApiError {
    ApiError::NotFound("No such account".into())
}
