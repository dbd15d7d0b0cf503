//! Comment handlers: the list reads from the reader pool (writer fallback); writes,
//! and the existence and ownership checks that guard them, run in one writer
//! transaction and answer with the writer's own row, so a client always sees its write.

use axum::{Json, extract::Path};
use http::StatusCode;
use shared::{
    ApiError,
    auth::caller::{AnyCaller, Caller},
    cursor::{Keyset, Page},
    domain::ValidationErrors,
    error::OnConstraint,
    http::extract::{ApiJson, ApiQuery},
    openapi::{BodyErrors, Errors},
    permissions::{Action, Resource, Scope},
};

use crate::{
    request::{CommentInput, ListQuery},
    response::Comment,
    store,
};

fn post_not_found() -> ApiError {
    ApiError::NotFound("No such post".into())
}

fn not_found() -> ApiError {
    ApiError::NotFound("No such comment".into())
}

/// Sanitizing can lengthen a body past the column's CHECK (escaping `<` as `&lt;`,
/// `rel` added to links): the client's 400, not our 500.
fn too_long_once_sanitized(constraint: &str) -> Option<ApiError> {
    (constraint == "comments_body_check").then(|| {
        ValidationErrors::one(
            "body",
            "body is too long once sanitized (at most 10000 characters)",
        )
    })
}

/// The post's existence and its page of comments, as one answer from one pool.
enum Listing {
    NoPost,
    Rows(Vec<Comment>),
}

/// `GET /api/posts/{id}/comments`: newest first; anyone may read, anonymous included.
#[utoipa::path(get, path = "/api/posts/{id}/comments", tag = "comments", operation_id = "listComments",
    summary = "A post's comments, newest first (anyone; a Bearer token is verified if sent)",
    security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "The post's id"), ListQuery),
    responses((status = 200, description = "A page of comments", body = Page<Comment>), Errors))]
pub async fn list(
    caller: AnyCaller,
    Path(post_id): Path<i64>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<Comment>>, ApiError> {
    // Reading others' comments is the widest read; the matrix grants it to everyone today.
    caller
        .may(Resource::Comment, Action::Read, Scope::Other)
        .await?;
    let state = caller.state();
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let listing = state
        .db
        .read(|mut conn| async move {
            if !store::post_exists(&mut conn, post_id).await? {
                return Ok(Listing::NoPost);
            }
            store::list(&mut conn, post_id, &page)
                .await
                .map(Listing::Rows)
        })
        .await?;
    let Listing::Rows(rows) = listing else {
        return Err(post_not_found());
    };
    Ok(Json(page.respond(&keys.cursor, rows, |row| {
        (row.created_at, row.id)
    })))
}

/// `POST /api/posts/{id}/comments`: the post is checked, and share-locked, on the writer.
#[utoipa::path(post, path = "/api/posts/{id}/comments", tag = "comments", operation_id = "createComment",
    summary = "Comment on a post",
    params(("id" = i64, Path, description = "The post's id")),
    request_body = CommentInput,
    responses((status = 201, description = "The comment", body = Comment), Errors, BodyErrors))]
pub async fn create(
    caller: Caller,
    Path(post_id): Path<i64>,
    ApiJson(input): ApiJson<CommentInput>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    caller
        .may(Resource::Comment, Action::Create, Scope::Own)
        .await?;
    let body = input.parse()?;
    let account_id = caller.principal.account_id;
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            if !store::lock_author(&mut tx, account_id).await? {
                // Deleted since the token was issued: the token no longer names anyone.
                return Err(ApiError::INVALID_TOKEN);
            }
            let post_created_at = store::lock_post(&mut tx, post_id)
                .await?
                .ok_or_else(post_not_found)?;
            let row = store::insert(&mut tx, post_id, post_created_at, account_id, &body)
                .await
                .on_constraint(too_long_once_sanitized)?;
            tx.commit().await?;
            Ok((StatusCode::CREATED, Json(row)))
        })
        .await
}

/// `PATCH /api/comments/{id}`: the author, or a moderator or admin.
#[utoipa::path(patch, path = "/api/comments/{id}", tag = "comments", operation_id = "updateComment",
    summary = "Change a comment (own, or moderator/admin)",
    params(("id" = i64, Path, description = "The comment's id")),
    request_body = CommentInput,
    responses((status = 200, description = "The comment after the change", body = Comment), Errors, BodyErrors))]
pub async fn update(
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CommentInput>,
) -> Result<Json<Comment>, ApiError> {
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            let owner = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
            caller
                .may_change(&mut tx, Resource::Comment, Action::Update, owner, id)
                .await?;
            let body = input.clone().parse()?;
            let row = store::update(&mut tx, id, &body)
                .await
                .on_constraint(too_long_once_sanitized)?;
            tx.commit().await?;
            Ok(Json(row))
        })
        .await
}

/// `DELETE /api/comments/{id}`: soft; the comment is 404 from then on.
#[utoipa::path(delete, path = "/api/comments/{id}", tag = "comments", operation_id = "deleteComment",
    summary = "Soft-delete a comment (own, or moderator/admin)",
    params(("id" = i64, Path, description = "The comment's id")),
    responses((status = 204, description = "Deleted"), Errors))]
pub async fn delete(caller: Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            let owner = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
            caller
                .may_change(&mut tx, Resource::Comment, Action::Delete, owner, id)
                .await?;
            store::soft_delete(&mut tx, id).await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}
