//! PostgreSQL through RDS Proxy: a writer pool and a reader pool, both small and lazily
//! connected, and read routing that falls back to the writer when the replica is down
//! or lagging.
//!
//! RDS Proxy pins a client to one backend for the rest of the session when it sees
//! session state. Queries here avoid that: the statement cache is off, so sqlx sends
//! unnamed prepared statements, and `statement_timeout` travels in the startup packet
//! instead of a `SET`.
//!
//! Each pool has a circuit breaker. Writes get their connection from [`Db::writer`] or
//! [`Db::begin`], which answer at once while the writer's breaker is open and retry
//! only what cannot have been applied (getting a connection, `BEGIN`). Reads retry on
//! the writer, as repeating a read is always safe. Statements slower than
//! `SLOW_QUERY_MS` are logged by sqlx with their SQL text and duration, never their
//! bound values; time spent per pool is the EMF metric `DbQueryTime`.

use std::{
    ops::{Deref, DerefMut},
    str::FromStr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use secrecy::{ExposeSecret, SecretString};
pub use sqlx::PgPool;
use sqlx::{
    ConnectOptions, PgConnection, Postgres, Transaction,
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
};

use crate::{
    config::{DatabaseConfig, DatabaseEndpoints, ResilienceConfig, RetryPolicy},
    resilience::{Breakers, CircuitBreaker, Guarded, retry},
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{var} is not a valid PostgreSQL URL: {reason}")]
    InvalidUrl { var: &'static str, reason: String },
    #[error("the RDS Proxy endpoints need credentials from DB_SECRET_ID")]
    MissingCredentials,
}

/// Database credentials for the RDS Proxy endpoints (the RDS-managed secret's shape).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
}

pub struct Db {
    writer: PgPool,
    reader: PgPool,
    gate: ReaderGate,
    max_lag: Duration,
    writer_breaker: Arc<CircuitBreaker>,
    reader_breaker: Arc<CircuitBreaker>,
    retry: RetryPolicy,
}

/// What getting a writer connection can fail with: the breaker is open, or PostgreSQL
/// (or the pool) refused.
pub type WriterError = Guarded<sqlx::Error>;

impl Db {
    /// Builds both pools without connecting: a cold start costs no round trip, and a
    /// database that is down at start does not stop the instance from starting.
    pub fn connect_lazy(
        config: &DatabaseConfig,
        resilience: &ResilienceConfig,
        breakers: &Breakers,
        credentials: Option<&Credentials>,
    ) -> Result<Self, DbError> {
        let (writer, reader) = match (&config.endpoints, credentials) {
            (DatabaseEndpoints::Urls { writer, reader }, _) => (
                parse_url("DATABASE_URL", writer)?,
                parse_url("DATABASE_URL_REPLICA", reader)?,
            ),
            (
                DatabaseEndpoints::Proxy {
                    writer_host,
                    reader_host,
                    port,
                    database,
                    ..
                },
                credentials,
            ) => {
                let credentials = credentials.ok_or(DbError::MissingCredentials)?;
                let base = PgConnectOptions::new()
                    .port(*port)
                    .database(database)
                    .username(&credentials.username)
                    .password(credentials.password.expose_secret())
                    // RDS Proxy certificates are issued by ACM, so public roots verify them.
                    .ssl_mode(PgSslMode::VerifyFull);
                (base.clone().host(writer_host), base.host(reader_host))
            }
        };
        Ok(Self {
            writer: pool(config, resilience, writer, "writer"),
            reader: pool(config, resilience, reader, "reader"),
            gate: ReaderGate::new(config.reader_retry_after),
            max_lag: config.replica_max_lag,
            writer_breaker: breakers.writer.clone(),
            reader_breaker: breakers.reader.clone(),
            retry: resilience.retry,
        })
    }

    /// A writer connection, for writes and for reads that must see them (login,
    /// refresh, permission checks). Held until dropped: take it per statement
    /// (`&mut *db.writer().await?`) unless several statements need one session.
    pub async fn writer(&self) -> Result<Held<PoolConnection<Postgres>>, WriterError> {
        let connection = self.on_writer(|| self.writer.acquire()).await?;
        Ok(Held::new(connection, "writer"))
    }

    /// A writer transaction; committed with [`Held::commit`], rolled back if dropped.
    pub async fn begin(&self) -> Result<Held<Transaction<'static, Postgres>>, WriterError> {
        let transaction = self.on_writer(|| self.writer.begin()).await?;
        Ok(Held::new(transaction, "writer"))
    }

    /// Opens a writer session under the writer's breaker. Nothing has been sent yet,
    /// so a transient failure here (a reset connection, a server restarting) is
    /// retried; sqlx has already retried refused connections until its acquire timeout.
    async fn on_writer<T, Fut>(&self, open: impl FnMut() -> Fut) -> Result<T, WriterError>
    where
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        self.writer_breaker
            .guard(
                retry(&self.retry, "writer connection", is_transient, open),
                is_unavailable,
            )
            .await
    }

    /// Closes both pools (at shutdown): waits for connections in use to come back.
    pub async fn close(&self) {
        tokio::join!(self.writer.close(), self.reader.close());
    }

    /// The writer pool itself, for health checks, migrations and partition maintenance,
    /// which report their own failures; request handlers use [`Db::writer`].
    pub fn writer_pool(&self) -> &PgPool {
        &self.writer
    }

    /// The reader pool itself, for health checks; queries should use [`Db::read`].
    pub fn reader_pool(&self) -> &PgPool {
        &self.reader
    }

    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }

    /// Runs a read on the replica, or on the writer while the replica is unavailable,
    /// lagging, or its breaker is open. A read that fails because the replica went away
    /// is retried on the writer, and there again on transient faults (a read is safe
    /// to repeat); its own errors (bad SQL, constraint) are returned as they are.
    ///
    /// The query gets its pool by value (a cheap handle) so its future can be `Send`.
    pub async fn read<T, E, Fut>(&self, query: impl Fn(PgPool) -> Fut) -> Result<T, E>
    where
        E: Unavailable + std::fmt::Display,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.reader_usable().await {
            let on_reader = timed("reader", query(self.reader.clone()));
            match self
                .reader_breaker
                .guard(on_reader, E::is_unavailable)
                .await
            {
                Ok(rows) => return Ok(rows),
                Err(Guarded::Failed(error)) if !error.is_unavailable() => return Err(error),
                Err(Guarded::Failed(error)) => {
                    tracing::warn!(error = %error, "reader failed; reads use the writer");
                    self.gate.close();
                }
                Err(Guarded::Open(_)) => {}
            }
        }
        // Not guarded by the writer's breaker: with the replica out too this is the
        // last way to answer, but its outcome still counts.
        let result = retry(&self.retry, "read on the writer", E::is_transient, || {
            timed("writer", query(self.writer.clone()))
        })
        .await;
        self.writer_breaker
            .record(!matches!(&result, Err(error) if error.is_unavailable()));
        result
    }

    async fn observed_probe(&self) -> Result<ReplicaStatus, sqlx::Error> {
        let status = replica_status(&self.reader).await;
        self.reader_breaker
            .observe(!matches!(&status, Err(error) if is_unavailable(error)));
        status
    }

    /// Sends reads to the writer for the retry interval (the replica failed a check).
    pub fn mark_reader_unavailable(&self) {
        self.gate.close();
    }

    async fn reader_usable(&self) -> bool {
        match self.gate.state() {
            Gate::Closed => false,
            Gate::Open => true,
            // The probe's outcome counts for the reader's breaker like a read's would
            // (a lagging replica answered), so a replica down shows as an open breaker.
            Gate::ProbeDue => match self.observed_probe().await {
                Ok(status) if status.lag <= self.max_lag => {
                    self.gate.open();
                    true
                }
                Ok(status) => {
                    tracing::warn!(
                        lag_seconds = status.lag.as_secs_f64(),
                        "replica lagging; reads use the writer"
                    );
                    self.gate.close();
                    false
                }
                Err(error) => {
                    tracing::warn!(error = %error, "replica unreachable; reads use the writer");
                    self.gate.close();
                    false
                }
            },
        }
    }
}

fn parse_url(var: &'static str, url: &SecretString) -> Result<PgConnectOptions, DbError> {
    PgConnectOptions::from_str(url.expose_secret()).map_err(|e| DbError::InvalidUrl {
        var,
        // sqlx's message can quote the URL; keep only its kind.
        reason: e
            .to_string()
            .split(':')
            .next()
            .unwrap_or("invalid")
            .to_owned(),
    })
}

fn pool(
    config: &DatabaseConfig,
    resilience: &ResilienceConfig,
    options: PgConnectOptions,
    role: &str,
) -> PgPool {
    let options = options
        .log_slow_statements(log::LevelFilter::Warn, resilience.slow_query)
        .statement_cache_capacity(0)
        .application_name(&format!("blue-harvest-{role}"))
        .options([(
            "statement_timeout",
            config.statement_timeout.as_millis().to_string(),
        )]);
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        // Lambda freezes idle instances; the proxy closes their idle connections.
        .idle_timeout(Some(Duration::from_secs(60)))
        .connect_lazy_with(options)
}

/// What the replica says about itself.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaStatus {
    pub in_recovery: bool,
    pub lag: Duration,
}

/// Lag is zero when every received WAL record is replayed (an idle primary sends
/// nothing, and the last replay time would otherwise grow forever).
pub async fn replica_status(pool: &PgPool) -> Result<ReplicaStatus, sqlx::Error> {
    let (in_recovery, lag_seconds): (bool, f64) = sqlx::query_as(
        "SELECT pg_is_in_recovery(),
                CASE WHEN NOT pg_is_in_recovery() THEN 0
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
                END::float8",
    )
    .fetch_one(pool)
    .await?;
    Ok(ReplicaStatus {
        in_recovery,
        lag: Duration::from_secs_f64(lag_seconds.max(0.0)),
    })
}

/// Errors that can say "this server cannot answer now" (as opposed to "this query is
/// wrong"), which is what sends a read from the replica to the writer, and whether
/// trying again soon may succeed.
pub trait Unavailable {
    fn is_unavailable(&self) -> bool;
    fn is_transient(&self) -> bool;
}

impl Unavailable for sqlx::Error {
    fn is_unavailable(&self) -> bool {
        is_unavailable(self)
    }

    fn is_transient(&self) -> bool {
        is_transient(self)
    }
}

/// Faults a prompt retry can get past: a broken connection, a server shutting down or
/// out of connections, a serialization failure or deadlock (the transaction was rolled
/// back). Not a pool timeout: sqlx has already waited and retried inside it.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("57P")
                || code == "53300"
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    }
}

/// A connection or transaction taken from a pool, timed until it is given back (the
/// EMF metric `DbQueryTime` by `Pool`). Dereferences to the connection, so
/// `&mut *held` is an executor.
pub struct Held<C> {
    /// `None` only after `commit` took it.
    inner: Option<C>,
    pool: &'static str,
    since: Instant,
}

impl<C> Held<C> {
    fn new(inner: C, pool: &'static str) -> Self {
        Self {
            inner: Some(inner),
            pool,
            since: Instant::now(),
        }
    }
}

impl<C: Deref<Target = PgConnection>> Deref for Held<C> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.inner {
            Some(inner) => inner,
            None => unreachable!("taken only by commit, which consumes the guard"),
        }
    }
}

impl<C: DerefMut<Target = PgConnection>> DerefMut for Held<C> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.inner {
            Some(inner) => inner,
            None => unreachable!("taken only by commit, which consumes the guard"),
        }
    }
}

impl Held<Transaction<'static, Postgres>> {
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        match self.inner.take() {
            Some(transaction) => transaction.commit().await,
            None => Ok(()),
        }
    }
}

impl<C> Drop for Held<C> {
    fn drop(&mut self) {
        record_time(self.pool, self.since);
    }
}

async fn timed<T>(pool: &'static str, query: impl Future<Output = T>) -> T {
    let since = Instant::now();
    let result = query.await;
    record_time(pool, since);
    result
}

fn record_time(pool: &'static str, since: Instant) {
    crate::metrics::milliseconds(
        "DbQueryTime",
        since.elapsed().as_secs_f64() * 1000.0,
        &[("Pool", pool)],
    );
}

/// Errors that mean "this server cannot answer now", as opposed to "this query is wrong".
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception, 57P: shutdown, 53: out of resources,
            // 40001: a standby cancelled the query to replay conflicting WAL.
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == "40001"
        }),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Open,
    Closed,
    ProbeDue,
}

/// Decides whether reads may go to the replica. Closed for `retry_after` after a
/// failure; when that passes, (and every `retry_after` while open) one read first
/// probes the replica's lag.
struct ReaderGate {
    retry_after: Duration,
    next_check: Mutex<(Gate, Instant)>,
}

impl ReaderGate {
    fn new(retry_after: Duration) -> Self {
        Self {
            retry_after,
            next_check: Mutex::new((Gate::Open, Instant::now())),
        }
    }

    fn state(&self) -> Gate {
        let guard = self
            .next_check
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (gate, until) = *guard;
        if Instant::now() >= until {
            Gate::ProbeDue
        } else {
            gate
        }
    }

    fn set(&self, gate: Gate) {
        let mut guard = self
            .next_check
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *guard = (gate, Instant::now() + self.retry_after);
    }

    fn open(&self) {
        self.set(Gate::Open);
    }

    fn close(&self) {
        self.set(Gate::Closed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_probes_first_then_stays_open_until_the_interval() {
        let gate = ReaderGate::new(Duration::from_secs(60));
        assert_eq!(gate.state(), Gate::ProbeDue);
        gate.open();
        assert_eq!(gate.state(), Gate::Open);
        gate.close();
        assert_eq!(gate.state(), Gate::Closed);
    }

    #[test]
    fn closed_gate_reprobes_after_the_interval() {
        let gate = ReaderGate::new(Duration::ZERO);
        gate.close();
        assert_eq!(gate.state(), Gate::ProbeDue);
    }

    #[test]
    fn query_errors_are_not_unavailability() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
