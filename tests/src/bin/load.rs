//! The benchmarks' load generator (`make bench`): N concurrent clients send one kind of
//! request for a fixed time against `BH_API_URL`; prints one JSON line with requests,
//! errors, requests per second and p50/p99 latency. Each client keeps its own session,
//! so refresh-token rotation and reuse detection behave as for real clients.
//!
//!   load <posts-anon|posts-bearer|create-post|refresh|login> <concurrency> <seconds> [requests]
//!                         `requests`: each client stops after that many, if sooner
//!   load mixed <concurrency> <seconds>   read-your-writes under a lagging replica: each
//!                         client writes a post, reads it back at once with the
//!                         consistency token the write answered, and reads the anonymous
//!                         posts list 8 times (90 % reads); misses are counted, and the
//!                         share of reads the replica served is read from
//!                         pg_stat_statements (DATABASE_URL, DATABASE_URL_REPLICA)
//!   load seed <posts>     signs up one author and writes that many posts
//!   load list-sql         the posts list statement, for pgbench
//!   load list-sqlx <before|now> <n>   that statement n times through one sqlx
//!                         connection to DATABASE_URL_REPLICA, configured as the API's
//!                         pools were before the round-trip work (no statement cache,
//!                         a ping before each acquire) or as they are now; for counting
//!                         round trips (scripts/bench-server.sh)
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

async fn run(
    kind: Kind,
    concurrency: usize,
    seconds: u64,
    per_client: Option<usize>,
) -> Result<(), Error> {
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
                while Instant::now() < deadline
                    && per_client.is_none_or(|most| latencies.len() < most)
                {
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
    let (p50, p99) = percentiles(&mut latencies);
    println!(
        "{}",
        json!({
            "requests": latencies.len(), "errors": errors, "concurrency": concurrency,
            "seconds": (elapsed * 10.0).round() / 10.0,
            "rps": (latencies.len() as f64 / elapsed).round(),
            "p50_ms": p50,
            "p99_ms": p99,
        })
    );
    Ok(())
}

/// One client's mixed work: latencies of its writes, its reads of what it just wrote
/// (carrying the token), and its other reads; and how many of the first missed.
#[derive(Default)]
struct Mixed {
    writes: Vec<Duration>,
    own_reads: Vec<Duration>,
    other_reads: Vec<Duration>,
    misses: u64,
    errors: u64,
}

impl Mixed {
    fn append(&mut self, mut other: Mixed) {
        self.writes.append(&mut other.writes);
        self.own_reads.append(&mut other.own_reads);
        self.other_reads.append(&mut other.other_reads);
        self.misses += other.misses;
        self.errors += other.errors;
    }
}

/// A write, the read of it that follows at once, and eight reads of the list.
async fn mixed_round(http: &reqwest::Client, state: &ClientState, out: &mut Mixed) {
    let body = json!({
        "content": {"title": "Mixed", "body": "<p>Written, then read back at once.</p>"},
        "postTypeId": 1, "profileId": state.profile,
    });
    let sent = Instant::now();
    let written = send(
        http.post(app().url("/api/posts"))
            .bearer_auth(&state.session.access_token)
            .json(&body),
    )
    .await;
    out.writes.push(sent.elapsed());
    let token = written
        .headers()
        .get(shared::http::consistency::HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let created: serde_json::Value = written.json().await.unwrap_or_default();
    match (created["id"].as_i64(), token) {
        (Some(id), Some(token)) => {
            let sent = Instant::now();
            let read = send(
                http.get(app().url(&format!("/api/posts/{id}")))
                    .bearer_auth(&state.session.access_token)
                    .header(shared::http::consistency::HEADER, token),
            )
            .await;
            out.own_reads.push(sent.elapsed());
            if read.status() != 200 {
                out.misses += 1;
            }
        }
        _ => out.errors += 1,
    }
    for _ in 0..8 {
        let sent = Instant::now();
        let read = send(http.get(app().url("/api/posts?limit=20"))).await;
        out.other_reads.push(sent.elapsed());
        if !read.status().is_success() {
            out.errors += 1;
        }
    }
}

/// Calls of the posts read statements (one post, a page) on one server.
async fn post_reads(url: &str) -> Result<i64, Error> {
    let pool = sqlx::PgPool::connect(url).await?;
    let calls = sqlx::query_scalar(
        "SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements
         WHERE query LIKE '%FROM posts p WHERE p.id = $1 AND NOT p.deleted%'
            OR query LIKE '%ORDER BY p.created_at DESC, p.id DESC%LIMIT $6%'",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok(calls)
}

async fn mixed(concurrency: usize, seconds: u64) -> Result<(), Error> {
    let (writer_url, replica_url) = (
        std::env::var("DATABASE_URL")?,
        std::env::var("DATABASE_URL_REPLICA")?,
    );
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        clients.push(prepare(Kind::CreatePost).await);
    }
    let before = (
        post_reads(&writer_url).await?,
        post_reads(&replica_url).await?,
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|state| {
            tokio::spawn(async move {
                let http = new_client();
                let mut out = Mixed::default();
                while Instant::now() < deadline {
                    mixed_round(&http, &state, &mut out).await;
                }
                out
            })
        })
        .collect();
    let mut all = Mixed::default();
    for task in tasks {
        all.append(task.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    // A create runs the one-post statement too, in its transaction on the writer,
    // to answer with the post as written: those are writes, not reads.
    let writes = i64::try_from(all.writes.len())?;
    let on_writer = post_reads(&writer_url).await? - before.0 - writes;
    let on_replica = post_reads(&replica_url).await? - before.1;
    let (own_p50, own_p99) = percentiles(&mut all.own_reads);
    let (other_p50, other_p99) = percentiles(&mut all.other_reads);
    let (write_p50, write_p99) = percentiles(&mut all.writes);
    println!(
        "{}",
        json!({
            "concurrency": concurrency, "seconds": (elapsed * 10.0).round() / 10.0,
            "writes": all.writes.len(), "reads_after_write": all.own_reads.len(),
            "misses": all.misses, "other_reads": all.other_reads.len(), "errors": all.errors,
            "replica_share": (on_replica as f64 / (on_writer + on_replica).max(1) as f64 * 1000.0).round() / 1000.0,
            "reads_on_writer": on_writer, "reads_on_replica": on_replica,
            "write_p50_ms": write_p50, "write_p99_ms": write_p99,
            "token_read_p50_ms": own_p50, "token_read_p99_ms": own_p99,
            "other_read_p50_ms": other_p50, "other_read_p99_ms": other_p99,
        })
    );
    Ok(())
}

/// p50 and p99 in milliseconds, to 0.01.
fn percentiles(latencies: &mut [Duration]) -> (f64, f64) {
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies
            .get(index)
            .map_or(0.0, |d| (d.as_secs_f64() * 100_000.0).round() / 100.0)
    };
    (at(0.50), at(0.99))
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

/// The posts list statement, `n` times in a row through a one-connection pool.
async fn list_sqlx(before: bool, n: usize) -> Result<(), Error> {
    use sqlx::{ConnectOptions, postgres::PgConnectOptions, postgres::PgPoolOptions};
    let url = std::env::var("DATABASE_URL_REPLICA")?;
    let mut options: PgConnectOptions = url.parse()?;
    options = options.disable_statement_logging();
    if before {
        options = options.statement_cache_capacity(0);
    }
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(before)
        .connect_with(options)
        .await?;
    let started = Instant::now();
    for _ in 0..n {
        sqlx::query(posts::store::LIST_SQL)
            .bind(None::<i64>)
            .bind(None::<i16>)
            .bind(None::<&str>)
            .bind(None::<time::OffsetDateTime>)
            .bind(None::<i64>)
            .bind(21_i64)
            .fetch_all(&pool)
            .await?;
    }
    println!(
        "{}",
        json!({"mode": if before { "before" } else { "now" }, "statements": n,
               "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
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
        Some("mixed") => mixed(usize::try_from(number(1)?)?, number(2)?).await?,
        // The posts list statement as the API runs it for `?limit=20` (first page, no
        // filters), for pgbench.
        Some("list-sql") => {
            let mut sql = posts::store::LIST_SQL.replace("$6", "21");
            for n in 1..=5 {
                sql = sql.replace(&format!("${n}"), "NULL");
            }
            println!("{};", sql.trim());
        }
        Some("list-sqlx") => {
            let before = match args.get(1).map(String::as_str) {
                Some("before") => true,
                Some("now") => false,
                _ => return Err("usage: load list-sqlx <before|now> <n>".into()),
            };
            list_sqlx(before, usize::try_from(number(2)?)?).await?;
        }
        Some(name) => {
            let kind = Kind::parse(name).ok_or_else(|| format!("unknown kind {name}"))?;
            let per_client = match args.get(3) {
                Some(_) => Some(usize::try_from(number(3)?)?),
                None => None,
            };
            run(kind, usize::try_from(number(1)?)?, number(2)?, per_client).await?;
        }
        None => {
            return Err("usage: load <kind> <concurrency> <seconds> | load seed <posts>".into());
        }
    }
    Ok(())
}
