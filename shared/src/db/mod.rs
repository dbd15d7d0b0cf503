//! PostgreSQL through RDS Proxy: a writer pool and a reader pool, both small and lazily
//! connected, and read routing: the replica unless it is down or lagging, or the
//! client has just written something the replica has not replayed yet
//! ([`consistency`]: read-your-writes).
//!
//! RDS Proxy pins a client to one backend for the rest of the session when it sees
//! session state. Queries here avoid that: `statement_timeout` travels in the startup
//! packet instead of a `SET`, and no code issues `SET`, `LISTEN` or SQL `PREPARE`.
//! Protocol-level named prepared statements (sqlx's statement cache, so a repeated
//! statement is one round trip: Bind/Execute, no Parse/Describe) do not pin since RDS
//! Proxy multiplexes the extended query protocol: it replays a statement's Parse on
//! whichever database connection the next transaction borrows.
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
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use secrecy::{ExposeSecret, SecretString};
pub use sqlx::PgPool;
use sqlx::{
    ConnectOptions, PgConnection, Postgres, Transaction,
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
};

use tokio::sync::OnceCell;

use config::{DatabaseConfig, DatabaseEndpoints};

use crate::{
    error::ApiError,
    resilience::config::{ResilienceConfig, RetryPolicy},
    resilience::{BreakerState, Breakers, CircuitBreaker, Guarded, retry},
};

pub mod config;
pub mod consistency;
pub mod credentials;
mod replica;

use consistency::{Lsn, Requirement, WritePosition};
use credentials::{CredentialsError, DbCredentials};
use replica::{Gate, LagSource, ReadCounts, ReaderGate, Served};
pub use replica::{ReadShares, ReplicaStatus};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{var} is not a valid PostgreSQL URL: {reason}")]
    InvalidUrl { var: &'static str, reason: String },
    #[error("database credentials: {0}")]
    Credentials(#[from] CredentialsError),
}

/// Database credentials in a secret (the RDS-managed secret's shape).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
}

pub struct Db {
    writer: PgPool,
    reader: PgPool,
    credentials: DbCredentials,
    gate: ReaderGate,
    max_lag: Duration,
    writer_breaker: Arc<CircuitBreaker>,
    reader_breaker: Arc<CircuitBreaker>,
    retry: RetryPolicy,
    lag_source: OnceCell<LagSource>,
    /// False once a server has refused a WAL position function (Aurora): from then on
    /// read-your-writes goes by time.
    wal_positions: AtomicBool,
    read_your_writes_window: Duration,
    reads: ReadCounts,
}

/// How long the replica probe waits for a writer connection to ask it the lag.
const LAG_PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// What getting a writer connection can fail with: the breaker is open, or PostgreSQL
/// (or the pool) refused.
pub type WriterError = Guarded<sqlx::Error>;

impl Db {
    /// Builds both pools without connecting (a cold start costs no round trip, and a
    /// database that is down at start does not stop the instance from starting); only
    /// the credentials are fetched first where they come from Secrets Manager, retried
    /// while it is unreachable.
    pub async fn connect(
        config: &DatabaseConfig,
        resilience: &ResilienceConfig,
        breakers: &Breakers,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, DbError> {
        let (writer, reader) = match &config.endpoints {
            DatabaseEndpoints::Urls { writer, reader } => (
                parse_url("DATABASE_URL", writer)?,
                parse_url("DATABASE_URL_REPLICA", reader)?,
            ),
            DatabaseEndpoints::Proxy {
                writer_host,
                reader_host,
                port,
                database,
            } => {
                let base = PgConnectOptions::new()
                    .port(*port)
                    .database(database)
                    // RDS Proxy certificates are issued by ACM, so public roots verify them.
                    .ssl_mode(PgSslMode::VerifyFull);
                (base.clone().host(writer_host), base.host(reader_host))
            }
        };
        let (writer, reader) = (
            session_options(config, resilience, writer, "writer"),
            session_options(config, resilience, reader, "reader"),
        );
        let credentials = DbCredentials::new(config.auth.clone(), writer, reader, aws);
        // Without them (Secrets Manager unreachable at cold start) the instance starts
        // anyway: the first connection is refused, which fetches them (`open`), and
        // health can still report what is down.
        let (writer, reader) = credentials.current().await.unwrap_or_else(|error| {
            tracing::warn!(error = %error, "database credentials unknown at start; fetched on first use");
            credentials.without()
        });
        Ok(Self {
            writer: pool(config, writer),
            reader: pool(config, reader),
            credentials,
            gate: ReaderGate::new(config.reader_retry_after),
            max_lag: config.replica_max_lag,
            writer_breaker: breakers.writer.clone(),
            reader_breaker: breakers.reader.clone(),
            retry: resilience.retry,
            lag_source: OnceCell::new(),
            wal_positions: AtomicBool::new(true),
            read_your_writes_window: config.read_your_writes_window,
            reads: ReadCounts::default(),
        })
    }

    /// Opens a connection (or a transaction) on `pool` with credentials the server
    /// accepts now: an IAM token close to expiry is replaced first, and a refusal
    /// (rotated password, expired token) gets new credentials and one more try.
    async fn open<T, Fut>(&self, mut open: impl FnMut() -> Fut) -> Result<T, sqlx::Error>
    where
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        self.credentials
            .keep_fresh(&self.writer, &self.reader)
            .await;
        match open().await {
            Err(error)
                if credentials::refused(&error)
                    && self.credentials.refresh(&self.writer, &self.reader).await =>
            {
                open().await
            }
            other => other,
        }
    }

    /// A writer connection, for writes and for reads that must see them (login,
    /// refresh, permission checks). Held until dropped: take it per statement
    /// (`&mut *db.writer().await?`) unless several statements need one session.
    ///
    /// A request holding one may write through it, so its reads go to the writer from
    /// then on, and its client gets a consistency token.
    pub async fn writer(&self) -> Result<Held<PoolConnection<Postgres>>, WriterError> {
        let connection = self
            .on_writer(|| self.open(|| self.writer.acquire()))
            .await?;
        consistency::note_write();
        Ok(Held::new(connection, "writer"))
    }

    /// A writer transaction; committed with [`Held::commit`] (which counts as this
    /// request's write for read-your-writes), rolled back if dropped.
    pub async fn begin(&self) -> Result<Held<Transaction<'static, Postgres>>, WriterError> {
        let transaction = self.on_writer(|| self.open(|| self.writer.begin())).await?;
        Ok(Held::new(transaction, "writer"))
    }

    /// Runs a write — a whole transaction, from `begin` to `commit` — and runs it again
    /// when the database rolled it back to resolve a conflict (40001, 40P01), with the
    /// usual backoff, attempts and deadline: the transaction left nothing behind.
    /// `body` builds the transaction's future anew each time; it opens its own
    /// transaction with [`Db::begin`].
    pub async fn write<T, Fut>(&self, mut body: impl FnMut() -> Fut) -> Result<T, ApiError>
    where
        Fut: Future<Output = Result<T, ApiError>>,
    {
        retry(
            &self.retry,
            "write transaction",
            |error: &ApiError| matches!(error, ApiError::TransactionAborted(_)),
            // Boxed: a handler's whole transaction is a deep future, and each caller
            // would otherwise inline it into its own.
            || Box::pin(body()),
        )
        .await
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

    /// Runs a read on the replica, or on the writer when the replica is unavailable,
    /// lagging, its breaker is open, or it has not replayed this client's last write
    /// yet (checked on the very connection that would serve the read). A read that
    /// fails because the replica went away is retried on the writer, and there again
    /// on transient faults (a read is safe to repeat); its own errors (bad SQL,
    /// constraint) are returned as they are.
    ///
    /// The query gets its connection by value so its future can be `Send`.
    pub async fn read<T, E, Fut>(
        &self,
        query: impl Fn(PoolConnection<Postgres>) -> Fut,
    ) -> Result<T, E>
    where
        E: Unavailable + std::fmt::Display + From<sqlx::Error>,
        Fut: Future<Output = Result<T, E>>,
    {
        let requirement = consistency::requirement();
        let own_write = requirement == Some(Requirement::Writer);
        if !own_write && self.reader_usable().await {
            let on_reader = timed("reader", self.on_reader(requirement, &query));
            match self
                .reader_breaker
                .guard(on_reader, E::is_unavailable)
                .await
            {
                Ok(Some(rows)) => {
                    self.reads.count(Served::Replica);
                    return Ok(rows);
                }
                Ok(None) => {}
                Err(Guarded::Failed(error)) if !error.is_unavailable() => return Err(error),
                Err(Guarded::Failed(error)) => {
                    tracing::warn!(error = %error, "reader failed; reads use the writer");
                    self.gate.use_writer();
                }
                Err(Guarded::Open(_)) => {}
            }
        }
        let behind = own_write || matches!(requirement, Some(Requirement::After(_)));
        self.reads
            .count(if behind && self.gate.state() != Gate::UseWriter {
                Served::WriterForConsistency
            } else {
                Served::WriterFallback
            });
        // Not guarded by the writer's breaker: with the replica out too this is the
        // last way to answer, but its outcome still counts.
        let result = retry(&self.retry, "read on the writer", E::is_transient, || {
            timed("writer", async {
                query(self.open(|| self.writer.acquire()).await.map_err(E::from)?).await
            })
        })
        .await;
        self.writer_breaker
            .record(!matches!(&result, Err(error) if error.is_unavailable()));
        match (result, requirement) {
            // The writer is out, but the client's write is in WAL the replica has
            // received: wait for the replica to replay it rather than fail the read.
            (Err(error), Some(Requirement::After(position)))
                if error.is_unavailable() && self.reader_usable().await =>
            {
                match self.once_replayed(position, &query).await {
                    Some(rows) => {
                        self.reads.count(Served::Replica);
                        Ok(rows)
                    }
                    None => Err(error),
                }
            }
            (result, _) => result,
        }
    }

    /// The read on the replica once it has replayed `position`, waiting for it for up
    /// to the read-your-writes window; `None` when it did not, or could not answer.
    async fn once_replayed<T, E, Fut>(
        &self,
        position: WritePosition,
        query: &impl Fn(PoolConnection<Postgres>) -> Fut,
    ) -> Option<T>
    where
        E: From<sqlx::Error> + std::fmt::Display,
        Fut: Future<Output = Result<T, E>>,
    {
        let deadline = Instant::now() + self.time_window();
        let attempt = async {
            let mut connection = self.open(|| self.reader.acquire()).await?;
            loop {
                if self.replayed(&mut connection, position).await? {
                    return query(connection).await.map(Some);
                }
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                tokio::time::sleep(REPLAY_POLL).await;
            }
        };
        attempt
            .await
            .inspect_err(|error: &E| tracing::warn!(error = %error, "the replica could not serve a read the writer failed"))
            .ok()
            .flatten()
    }

    /// The read on a replica connection, or `None` when that replica has not replayed
    /// the position the client must see.
    async fn on_reader<T, E, Fut>(
        &self,
        requirement: Option<Requirement>,
        query: &impl Fn(PoolConnection<Postgres>) -> Fut,
    ) -> Result<Option<T>, E>
    where
        E: From<sqlx::Error>,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut connection = self.open(|| self.reader.acquire()).await?;
        if let Some(Requirement::After(position)) = requirement
            && !self.replayed(&mut connection, position).await?
        {
            return Ok(None);
        }
        query(connection).await.map(Some)
    }

    /// Has the server behind this connection applied `position`? By WAL position
    /// where the server reports one, else by time (see [`consistency`]).
    async fn replayed(
        &self,
        connection: &mut PgConnection,
        position: WritePosition,
    ) -> Result<bool, sqlx::Error> {
        let by_time = || position.settled(crate::auth::unix_now_ms(), self.time_window());
        let Some(lsn) = position
            .lsn
            .filter(|_| self.wal_positions.load(Ordering::Relaxed))
        else {
            return Ok(by_time());
        };
        // A server not in recovery is a writer (a promoted replica, or no replica at
        // all): it has every committed write.
        let replayed = sqlx::query_scalar!(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() >= $1::text::pg_lsn
                         ELSE true END",
            lsn.to_string()
        )
        .fetch_one(connection)
        .await;
        match replayed {
            Ok(Some(replayed)) => Ok(replayed),
            // The server keeps no replay position: time decides.
            Ok(None) => Ok(by_time()),
            Err(error) if refuses_wal_functions(&error) => {
                self.no_wal_positions(&error);
                Ok(by_time())
            }
            Err(error) => Err(error),
        }
    }

    /// How long after a write the time rule keeps a client's reads on the writer: the
    /// configured window, or twice the measured lag when that is longer.
    fn time_window(&self) -> Duration {
        self.read_your_writes_window
            .max(self.gate.last_lag().saturating_mul(2))
    }

    fn no_wal_positions(&self, error: &sqlx::Error) {
        if self.wal_positions.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %error, "no WAL positions here; read-your-writes goes by time");
        }
    }

    /// Where the writer stands now: taken after a request's writes committed, it is at
    /// or past their commit records. Without a WAL position (Aurora, or the writer
    /// did not answer) the time alone still serves the time rule.
    pub async fn position(&self) -> WritePosition {
        let lsn = if self.wal_positions.load(Ordering::Relaxed) {
            let text = sqlx::query_scalar!(r#"SELECT pg_current_wal_insert_lsn()::text AS "lsn!""#)
                .fetch_one(&self.writer)
                .await;
            match text {
                Ok(text) => text.parse::<Lsn>().ok(),
                Err(error) if refuses_wal_functions(&error) => {
                    self.no_wal_positions(&error);
                    None
                }
                Err(error) => {
                    tracing::warn!(error = %error, "writer position unknown; the time rule applies");
                    None
                }
            }
        } else {
            None
        };
        WritePosition {
            lsn,
            at_ms: crate::auth::unix_now_ms(),
        }
    }

    /// Where this instance's reads went since it started.
    pub fn read_shares(&self) -> ReadShares {
        self.reads.shares()
    }

    /// The replica's state: reachable and in recovery (asked of the reader), and its
    /// lag (asked of the writer, which an idle spell cannot fool).
    ///
    /// The writer is asked briefly, and not at all while its breaker is open: a writer
    /// that is down must not make the replica look down too.
    pub async fn replica_status(&self) -> Result<ReplicaStatus, sqlx::Error> {
        let reader = self.open(|| self.reader.acquire());
        let writer = async {
            if self.writer_breaker.state() == BreakerState::Open {
                return Err(sqlx::Error::PoolTimedOut);
            }
            tokio::time::timeout(LAG_PROBE_TIMEOUT, self.open(|| self.writer.acquire()))
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut))
        };
        let (reader, writer) = tokio::join!(reader, writer);
        replica::status(reader?, writer, &self.lag_source).await
    }

    /// A round trip to the writer (health checks), with fresh credentials if needed.
    pub async fn ping_writer(&self) -> Result<(), sqlx::Error> {
        let mut writer = self.open(|| self.writer.acquire()).await?;
        sqlx::query("SELECT 1").execute(&mut *writer).await?;
        Ok(())
    }

    async fn observed_probe(&self) -> Result<ReplicaStatus, sqlx::Error> {
        let status = self.replica_status().await;
        self.reader_breaker
            .observe(!matches!(&status, Err(error) if is_unavailable(error)));
        if let Ok(status) = &status {
            self.gate.record_lag(status.lag);
        }
        status
    }

    /// Sends reads to the writer for the retry interval (the replica failed a check).
    pub fn mark_reader_unavailable(&self) {
        self.gate.use_writer();
    }

    async fn reader_usable(&self) -> bool {
        match self.gate.state() {
            Gate::UseWriter => false,
            Gate::UseReplica => true,
            // The probe's outcome counts for the reader's breaker like a read's would
            // (a lagging replica answered), so a replica down shows as an open breaker.
            Gate::ProbeDue => match self.observed_probe().await {
                Ok(status) if status.lag <= self.max_lag => {
                    self.gate.use_replica();
                    true
                }
                Ok(status) => {
                    tracing::warn!(
                        lag_seconds = status.lag.as_secs_f64(),
                        "replica lagging; reads use the writer"
                    );
                    self.gate.use_writer();
                    false
                }
                Err(error) => {
                    tracing::warn!(error = %error, "replica unreachable; reads use the writer");
                    self.gate.use_writer();
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

/// What every session of a pool starts with (no credentials yet).
fn session_options(
    config: &DatabaseConfig,
    resilience: &ResilienceConfig,
    options: PgConnectOptions,
    role: &str,
) -> PgConnectOptions {
    options
        .log_slow_statements(log::LevelFilter::Warn, resilience.slow_query)
        .application_name(&format!("blue-harvest-{role}"))
        .options([(
            "statement_timeout",
            config.statement_timeout.as_millis().to_string(),
        )])
}

fn pool(config: &DatabaseConfig, options: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        // No ping before handing a connection out: a round trip per query for nothing,
        // since a connection that broke while idle fails its query with an I/O error,
        // which the read path retries and a write's BEGIN retries (nothing was sent).
        .test_before_acquire(false)
        // Lambda freezes idle instances; the proxy closes their idle connections.
        .idle_timeout(Some(Duration::from_secs(60)))
        .connect_lazy_with(options)
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
            Some(transaction) => {
                transaction.commit().await?;
                consistency::note_write();
                Ok(())
            }
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

/// How often a read waiting for the replica to replay a client's write looks again.
const REPLAY_POLL: Duration = Duration::from_millis(50);

/// The writer rolled a transaction back to resolve a conflict: a serialization
/// failure (40001) or a deadlock (40P01). Running it again is safe and may succeed.
pub fn is_write_conflict(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "40001" || code == "40P01")
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
            // 40001: a standby cancelled the query to replay conflicting WAL,
            // 28: credentials refused (rotated under us; refreshed, but not yet).
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code.starts_with("28")
                || code == "40001"
        }),
        _ => false,
    }
}

/// The server does not offer WAL position functions (Aurora PostgreSQL says
/// "feature not supported"; an unknown function is "undefined function").
fn refuses_wal_functions(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "0A000" || code == "42883")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_are_not_unavailability() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
