//! The benchmarks' load generator (`make bench`): N concurrent clients send one kind of
//! request for a fixed time against `BH_API_URL`; prints one JSON line with requests,
//! errors, requests per second and p50/p99 latency. Each client keeps its own session,
//! so refresh-token rotation and reuse detection behave as for real clients.
//!
//!   load <posts-anon|posts-bearer|create-post|refresh|login> <concurrency> <seconds>
//!   load seed <posts>     signs up one author and writes that many posts
//!   load list-sql         the posts list statement, for pgbench
//!
//! Not a correctness test: any non-2xx answer counts as an error and is reported.

use std::time::{Duration, Instant};

use api_tests::{Session, app, new_client, new_user, send, set_cookie};
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    PostsAnonymous,
    PostsBearer,
    CreatePost,
    Refresh,
    Login,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "posts-anon" => Kind::PostsAnonymous,
            "posts-bearer" => Kind::PostsBearer,
            "create-post" => Kind::CreatePost,
            "refresh" => Kind::Refresh,
            "login" => Kind::Login,
            _ => return None,
        })
    }
}

/// What one client needs to send its requests.
struct ClientState {
    session: Session,
    profile: Option<i64>,
    password: String,
    username: String,
}

async fn prepare(kind: Kind) -> ClientState {
    let user = new_user();
    let session = app().signup(&user).await;
    let profile = match kind {
        Kind::CreatePost => Some(app().create_profile(&session.access_token, "Load").await),
        _ => None,
    };
    ClientState {
        session,
        profile,
        password: user.password,
        username: user.username,
    }
}

/// Sends one request; true when the answer was 2xx.
async fn once(kind: Kind, http: &reqwest::Client, state: &mut ClientState) -> bool {
    let response = match kind {
        Kind::PostsAnonymous => send(http.get(app().url("/api/posts?limit=20"))).await,
        Kind::PostsBearer => {
            send(
                http.get(app().url("/api/posts?limit=20"))
                    .bearer_auth(&state.session.access_token),
            )
            .await
        }
        Kind::CreatePost => {
            let body = json!({
                "content": {"title": "Load", "body": "<p>A post written by the load generator.</p>"},
                "postTypeId": 1, "profileId": state.profile,
            });
            send(
                http.post(app().url("/api/posts"))
                    .bearer_auth(&state.session.access_token)
                    .json(&body),
            )
            .await
        }
        Kind::Refresh => {
            let cookie = format!(
                "{}={}; {}={}",
                shared::auth::cookies::REFRESH,
                state.session.refresh,
                shared::auth::cookies::CSRF,
                state.session.csrf
            );
            let response = send(
                http.post(app().url("/api/auth/refresh"))
                    .header("cookie", cookie)
                    .header("x-csrf-token", &state.session.csrf),
            )
            .await;
            if let Some(next) = set_cookie(&response, shared::auth::cookies::REFRESH) {
                state.session.refresh = next;
            }
            if let Some(next) = set_cookie(&response, shared::auth::cookies::CSRF) {
                state.session.csrf = next;
            }
            response
        }
        Kind::Login => {
            let body = json!({"login": state.username, "password": state.password});
            send(http.post(app().url("/api/auth/login")).json(&body)).await
        }
    };
    response.status().is_success()
}

async fn run(kind: Kind, concurrency: usize, seconds: u64) -> Result<(), Error> {
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        clients.push(prepare(kind).await);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut state| {
            tokio::spawn(async move {
                let http = new_client();
                let mut latencies = Vec::new();
                let mut errors = 0_u64;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    if !once(kind, &http, &mut state).await {
                        errors += 1;
                    }
                    latencies.push(sent.elapsed());
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut l, e) = task.await?;
        latencies.append(&mut l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        json!({
            "requests": latencies.len(), "errors": errors, "concurrency": concurrency,
            "seconds": (elapsed * 10.0).round() / 10.0,
            "rps": (latencies.len() as f64 / elapsed).round(),
            "p50_ms": (at(0.50) * 100.0).round() / 100.0,
            "p99_ms": (at(0.99) * 100.0).round() / 100.0,
        })
    );
    Ok(())
}

async fn seed(posts: usize) {
    let app = app();
    let author = app.signup(&new_user()).await;
    let profile = app.create_profile(&author.access_token, "Seed").await;
    for i in 0..posts {
        app.create_post(&author.access_token, profile, &format!("Seeded post {i}"))
            .await;
    }
    println!("{}", json!({ "seeded": posts }));
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> Result<u64, Error> {
        Ok(args
            .get(i)
            .ok_or("missing argument (see the usage at the top of load.rs)")?
            .parse()?)
    };
    match args.first().map(String::as_str) {
        Some("seed") => seed(usize::try_from(number(1)?)?).await,
        // The posts list statement as the API runs it for `?limit=20` (first page, no
        // filters), for pgbench.
        Some("list-sql") => {
            let mut sql = posts::store::LIST_SQL.replace("$6", "21");
            for n in 1..=5 {
                sql = sql.replace(&format!("${n}"), "NULL");
            }
            println!("{};", sql.trim());
        }
        Some(name) => {
            let kind = Kind::parse(name).ok_or_else(|| format!("unknown kind {name}"))?;
            run(kind, usize::try_from(number(1)?)?, number(2)?).await?;
        }
        None => {
            return Err("usage: load <kind> <concurrency> <seconds> | load seed <posts>".into());
        }
    }
    Ok(())
}
