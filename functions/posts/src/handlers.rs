//! Post handlers: reads from the reader pool (writer fallback); writes, and the
//! ownership checks that guard them, in one writer transaction, answered from the
//! writer's own rows so a client always sees its write.

use axum::{Json, extract::Path};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
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
use utoipa::IntoParams;

use crate::{
    request::{CreatePost, UpdatePost},
    response::Post,
    store::{self, Filters},
};

/// Longest `?q=` search accepted.
pub const MAX_SEARCH_CHARS: usize = 200;

fn not_found() -> ApiError {
    ApiError::NotFound("No such post".into())
}

/// The post type is a foreign key: an unknown one is the client's 400.
fn unknown_post_type(constraint: &str) -> Option<ApiError> {
    (constraint == "posts_post_type_id_fkey")
        .then(|| ValidationErrors::one("postTypeId", "no such post type"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 1000 (clamped); 50 when absent.
    limit: Option<i64>,
    /// `nextCursor` of the previous page (HMAC-signed; a tampered one is a 400).
    cursor: Option<String>,
    /// One account's posts.
    account_id: Option<i64>,
    post_type_id: Option<i16>,
    /// Words searched in title and body.
    #[param(max_length = 200)]
    q: Option<String>,
}

/// `GET /api/posts`: newest first, anyone may read.
#[utoipa::path(get, path = "/api/posts", tag = "posts", operation_id = "listPosts",
    summary = "Posts, newest first (anyone)",
    security((), ("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of posts with their authors", body = Page<Post>), Errors))]
pub async fn list(
    caller: AnyCaller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<Post>>, ApiError> {
    // Reading others' posts is the widest read; the matrix grants it to everyone today.
    caller
        .may(Resource::Post, Action::Read, Scope::Other)
        .await?;
    let state = caller.state();
    let keys = state.secrets.app_keys().await?;
    let page = Keyset::parse(&keys.cursor, query.cursor.as_deref(), query.limit)?;
    let search = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if search
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(ApiError::validation(format!(
            "q must be at most {MAX_SEARCH_CHARS} characters"
        )));
    }
    let filters = Filters {
        account_id: query.account_id,
        post_type_id: query.post_type_id,
        search,
    };
    let rows = state
        .db
        .read(|mut conn| {
            let filters = filters.clone();
            async move { store::list(&mut conn, &filters, &page).await }
        })
        .await?;
    Ok(Json(page.respond(&keys.cursor, rows, |row| {
        (row.created_at, row.id)
    })))
}

/// `GET /api/posts/{id}`
#[utoipa::path(get, path = "/api/posts/{id}", tag = "posts", operation_id = "getPost",
    summary = "One post (anyone)",
    security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "The post's id")),
    responses((status = 200, description = "The post", body = Post), Errors))]
pub async fn get(caller: AnyCaller, Path(id): Path<i64>) -> Result<Json<Post>, ApiError> {
    let row = caller
        .state()
        .db
        .read(|mut conn| async move { store::find(&mut *conn, id).await })
        .await?
        .ok_or_else(not_found)?;
    caller
        .may_on(Resource::Post, Action::Read, row.account_id)
        .await?;
    Ok(Json(row.into()))
}

/// `POST /api/posts`: the primary author and every co-author must be the caller's own
/// profiles (403, audited, otherwise; unknown ones included, so ids reveal nothing).
#[utoipa::path(post, path = "/api/posts", tag = "posts", operation_id = "createPost",
    summary = "Create a post as one of the caller's profiles",
    request_body = CreatePost,
    responses((status = 201, description = "The post", body = Post), Errors, BodyErrors))]
pub async fn create(
    caller: Caller,
    ApiJson(body): ApiJson<CreatePost>,
) -> Result<(StatusCode, Json<Post>), ApiError> {
    caller
        .may(Resource::Post, Action::Create, Scope::Own)
        .await?;
    let post = body.parse()?;
    let account_id = caller.principal.account_id;
    caller.state()
        .db
        .write(|| async {
        let mut tx = caller.state().db.begin().await?;
        let owner = store::profile_owner(&mut tx, post.profile_id).await?;
        match owner {
            None => {
                return Err(ValidationErrors::one("profileId", "no such profile"));
            }
            Some(owner) if owner != account_id => {
                let details = json!({ "resource": "Profile", "action": "PrimaryAuthor", "profileId": post.profile_id });
                return Err(caller.deny(details).await);
            }
            Some(_) => {}
        }
        let foreign = store::foreign_profiles(&mut tx, account_id, &post.co_authors).await?;
        if !foreign.is_empty() {
            let details = json!({ "resource": "Profile", "action": "CoAuthor", "profileIds": foreign });
            return Err(caller.deny(details).await);
        }
        let row = store::insert(&mut tx, account_id, &post)
            .await
            .on_constraint(unknown_post_type)?;
        tx.commit().await?;
        Ok((StatusCode::CREATED, Json(row.into())))
        })
        .await
}

/// `PATCH /api/posts/{id}`: the author, or a moderator or admin.
#[utoipa::path(patch, path = "/api/posts/{id}", tag = "posts", operation_id = "updatePost",
    summary = "Change a post (own, or moderator/admin)",
    params(("id" = i64, Path, description = "The post's id")),
    request_body = UpdatePost,
    responses((status = 200, description = "The post after the change", body = Post), Errors, BodyErrors))]
pub async fn update(
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdatePost>,
) -> Result<Json<Post>, ApiError> {
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            let current = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
            caller
                .may_change(
                    &mut tx,
                    Resource::Post,
                    Action::Update,
                    current.account_id,
                    id,
                )
                .await?;
            let (content, post_type_id) = body.apply(&current.content.0, current.post_type_id)?;
            let row = store::update(&mut tx, id, current.created_at, &content, post_type_id)
                .await
                .on_constraint(unknown_post_type)?;
            tx.commit().await?;
            Ok(Json(row.into()))
        })
        .await
}

/// `DELETE /api/posts/{id}`: soft; the post is 404 from then on.
#[utoipa::path(delete, path = "/api/posts/{id}", tag = "posts", operation_id = "deletePost",
    summary = "Soft-delete a post (own, or moderator/admin)",
    params(("id" = i64, Path, description = "The post's id")),
    responses((status = 204, description = "Deleted"), Errors))]
pub async fn delete(caller: Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    caller
        .state()
        .db
        .write(|| async {
            let mut tx = caller.state().db.begin().await?;
            let current = store::lock(&mut tx, id).await?.ok_or_else(not_found)?;
            caller
                .may_change(
                    &mut tx,
                    Resource::Post,
                    Action::Delete,
                    current.account_id,
                    id,
                )
                .await?;
            store::soft_delete(&mut tx, id, current.created_at).await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}
