//! What the replica can be trusted with: whether it answers, how far behind the
//! writer it is, and how many reads it served.
//!
//! Lag is measured from the writer's side, so an idle period cannot inflate it. The
//! replica's own `now() - pg_last_xact_replay_timestamp()` counts the time since the
//! last replayed transaction, so after an idle spell the first write to arrive looks
//! as old as the idle time (327 s was seen), and every read would move to the writer.
//! The writer's `pg_stat_replication.replay_lag` is measured per WAL record sent,
//! and Aurora reports `replica_lag_in_msec` per reader (`aurora_replica_status()`).

use std::{
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use sqlx::{PgConnection, Postgres, pool::PoolConnection};
use tokio::sync::OnceCell;

/// What the replica says about itself, and the writer about it.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaStatus {
    pub in_recovery: bool,
    pub lag: Duration,
}

/// Where the writer learns its replicas' lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LagSource {
    /// PostgreSQL streaming replication.
    StatReplication,
    /// Aurora PostgreSQL, whose readers share the writer's storage.
    Aurora,
}

impl LagSource {
    async fn detect(writer: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let aurora = sqlx::query_scalar!(
            r#"SELECT to_regproc('aurora_replica_status') IS NOT NULL AS "aurora!""#
        )
        .fetch_one(writer)
        .await?;
        Ok(if aurora {
            Self::Aurora
        } else {
            Self::StatReplication
        })
    }

    /// The largest lag of any replica, in seconds (0 when caught up or idle).
    fn lag_sql(self) -> &'static str {
        match self {
            // NULL once a standby has caught up and nothing more was sent. Needs
            // pg_monitor (or superuser) to see other sessions' columns.
            Self::StatReplication => {
                "SELECT COALESCE(max(EXTRACT(EPOCH FROM replay_lag)), 0)::float8
                 FROM pg_stat_replication"
            }
            Self::Aurora => {
                "SELECT COALESCE(max(replica_lag_in_msec), 0)::float8 / 1000
                 FROM aurora_replica_status() WHERE session_id <> 'MASTER_SESSION_ID'"
            }
        }
    }
}

/// Measures the replica: reachable (and in recovery) on the reader, lag on the writer.
/// A writer that cannot answer the lag question (down, or no privilege) reports 0:
/// reads then go by the reader's reachability alone.
pub(crate) async fn status(
    mut reader: PoolConnection<Postgres>,
    writer: Result<PoolConnection<Postgres>, sqlx::Error>,
    source: &OnceCell<LagSource>,
) -> Result<ReplicaStatus, sqlx::Error> {
    let in_recovery = sqlx::query_scalar!(r#"SELECT pg_is_in_recovery() AS "in_recovery!""#)
        .fetch_one(&mut *reader);
    let lag = async {
        let mut writer = writer?;
        let source = source
            .get_or_try_init(|| LagSource::detect(&mut writer))
            .await?;
        sqlx::query_scalar::<_, f64>(source.lag_sql())
            .fetch_one(&mut *writer)
            .await
    };
    let (in_recovery, lag) = tokio::join!(in_recovery, lag);
    let lag_seconds = lag.unwrap_or_else(|error| {
        tracing::warn!(error = %error, "replica lag unknown (the writer did not say)");
        0.0
    });
    Ok(ReplicaStatus {
        in_recovery: in_recovery?,
        lag: Duration::from_secs_f64(lag_seconds.max(0.0)),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Reads may use the replica.
    UseReplica,
    /// Reads use the writer until the next probe.
    UseWriter,
    ProbeDue,
}

/// Decides whether reads may go to the replica. `UseWriter` for `retry_after` after a
/// failure; when that passes (and every `retry_after` while open) one read first
/// probes the replica.
pub(crate) struct ReaderGate {
    retry_after: Duration,
    next_check: Mutex<(Gate, Instant)>,
    /// The last measured lag, in microseconds (for the time rule of read-your-writes).
    lag_micros: AtomicU64,
}

impl ReaderGate {
    pub(crate) fn new(retry_after: Duration) -> Self {
        Self {
            retry_after,
            next_check: Mutex::new((Gate::UseReplica, Instant::now())),
            lag_micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn state(&self) -> Gate {
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

    pub(crate) fn use_replica(&self) {
        self.set(Gate::UseReplica);
    }

    pub(crate) fn use_writer(&self) {
        self.set(Gate::UseWriter);
    }

    pub(crate) fn record_lag(&self, lag: Duration) {
        let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.lag_micros.store(micros, Ordering::Relaxed);
    }

    pub(crate) fn last_lag(&self) -> Duration {
        Duration::from_micros(self.lag_micros.load(Ordering::Relaxed))
    }
}

/// Where this instance's reads were served since it started: what read-your-writes
/// and the replica's health cost, for health and the admin database stats.
#[derive(Debug, Default)]
pub(crate) struct ReadCounts {
    replica: AtomicU64,
    writer_for_consistency: AtomicU64,
    writer_fallback: AtomicU64,
}

/// An instance's reads since it started, by who served them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadShares {
    /// Reads the replica served.
    pub replica: u64,
    /// Reads sent to the writer because the client had just written (read-your-writes).
    pub writer_for_consistency: u64,
    /// Reads sent to the writer because the replica was down, lagging or failed.
    pub writer_fallback: u64,
    /// `replica` over all reads (1 when there were none).
    pub replica_share: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Served {
    Replica,
    WriterForConsistency,
    WriterFallback,
}

impl ReadCounts {
    pub(crate) fn count(&self, served: Served) {
        let (counter, name) = match served {
            Served::Replica => (&self.replica, "replica"),
            Served::WriterForConsistency => (&self.writer_for_consistency, "writerForConsistency"),
            Served::WriterFallback => (&self.writer_fallback, "writerFallback"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // The fleet's reader share (the dashboard): these counts are per instance.
        crate::metrics::count("Reads", &[("Served", name)]);
    }

    pub(crate) fn shares(&self) -> ReadShares {
        let replica = self.replica.load(Ordering::Relaxed);
        let writer_for_consistency = self.writer_for_consistency.load(Ordering::Relaxed);
        let writer_fallback = self.writer_fallback.load(Ordering::Relaxed);
        let total = replica + writer_for_consistency + writer_fallback;
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let replica_share = if total == 0 {
            1.0
        } else {
            replica as f64 / total as f64
        };
        ReadShares {
            replica,
            writer_for_consistency,
            writer_fallback,
            replica_share,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_probes_first_then_stays_open_until_the_interval() {
        let gate = ReaderGate::new(Duration::from_secs(60));
        assert_eq!(gate.state(), Gate::ProbeDue);
        gate.use_replica();
        assert_eq!(gate.state(), Gate::UseReplica);
        gate.use_writer();
        assert_eq!(gate.state(), Gate::UseWriter);
    }

    #[test]
    fn closed_gate_reprobes_after_the_interval() {
        let gate = ReaderGate::new(Duration::ZERO);
        gate.use_writer();
        assert_eq!(gate.state(), Gate::ProbeDue);
    }

    #[test]
    fn shares_count_where_reads_went() {
        let counts = ReadCounts::default();
        assert_eq!(counts.shares().replica_share, 1.0, "no reads yet");
        for served in [
            Served::Replica,
            Served::Replica,
            Served::Replica,
            Served::WriterForConsistency,
        ] {
            counts.count(served);
        }
        let shares = counts.shares();
        assert_eq!((shares.replica, shares.writer_for_consistency), (3, 1));
        assert!((shares.replica_share - 0.75).abs() < 1e-9);
    }
}
