//! The mail routes' rate limits, in-process through the auth function's whole HTTP
//! stack (the served API runs with raised limits), on the local stack's DynamoDB: each
//! test picks its own client IPs and addresses, so counters are its own.

use serde_json::json;

use crate::auth_in_process as support;
use support::{CHEAP_ARGON2, post, state};

/// Low limits; the forgot floor off (these tests are about counting, not timing).
const LIMITS: [(&str, &str); 6] = [
    ("RATE_LIMIT_MAIL_MAX", "3"),
    ("RATE_LIMIT_MAIL_ADDRESS_MAX", "2"),
    ("RATE_LIMIT_MAIL_WINDOW_SECONDS", "3600"),
    ("RATE_LIMIT_MAIL_ADDRESS_WINDOW_SECONDS", "3600"),
    ("RATE_LIMIT_GLOBAL_WINDOW_SECONDS", "3600"),
    ("PASSWORD_FORGOT_RESPONSE_MS", "0"),
];

async fn limited() -> std::sync::Arc<shared::AppState> {
    state(&[LIMITS.as_slice(), CHEAP_ARGON2.as_slice()].concat()).await
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A client IP of its own (the documentation block 2001:db8::/32), so counters of
/// earlier runs on the same stack never count.
fn ip() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    format!("2001:db8::{:x}:{:x}", (n >> 16) & 0xffff, n & 0xffff)
}

#[tokio::test]
async fn one_address_is_limited_whichever_ip_asks_and_whether_or_not_it_has_an_account() {
    let state = limited().await;
    let address = format!("nobody{}@example.com", unique());
    for _ in 0..2 {
        let (status, body) = post(
            &state,
            "/api/auth/password/forgot",
            json!({ "email": address }),
            &ip(),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    // Another IP, the same address (in another case): refused.
    let (status, body) = post(
        &state,
        "/api/auth/password/forgot",
        json!({ "email": address.to_uppercase() }),
        &ip(),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["details"]["tier"], "mail");
}

#[tokio::test]
async fn one_ip_is_limited_whatever_addresses_it_asks_for() {
    let state = limited().await;
    let client = ip();
    for _ in 0..3 {
        let address = format!("n{}@example.com", unique());
        let (status, body) = post(
            &state,
            "/api/auth/password/forgot",
            json!({ "email": address }),
            &client,
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, body) = post(
        &state,
        "/api/auth/password/forgot",
        json!({ "email": format!("n{}@example.com", unique()) }),
        &client,
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["details"]["tier"], "mail");
}
