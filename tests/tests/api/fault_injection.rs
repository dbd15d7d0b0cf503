//! Fault injection under a steady stream of mixed requests: the replica, the writer and
//! the AWS emulators (DynamoDB and Secrets Manager together) are each stopped while a few workers keep reading, writing and logging in
//! (`api_tests::traffic`), then started again. Each test prints what was sent,
//! succeeded and failed per phase, and checks that nothing a client was told was
//! written is lost. They stop servers, so their names start with `serial_` and
//! `scripts/test.sh` runs them alone, after every other suite.

use std::time::{Duration, Instant};

use api_tests::{
    RestoreAws, app, aws_is_down, database, stack,
    traffic::{self, Actor, Kind, Outcome, Phase, Traffic},
};

/// Traffic before the fault and once recovered (how long the fault lasts is per fault).
const HEALTHY_FOR: Duration = Duration::from_secs(4);
const RECOVERED_FOR: Duration = Duration::from_secs(4);
/// How long the API may take to serve every kind again once the dependency is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);
/// Every request answers well within API Gateway's 30 s: a functional deadline, not
/// a benchmark.
const DEADLINE: Duration = Duration::from_secs(15);
/// Recovered: the last answers of every kind succeeded, and nothing failed for a
/// while.
const RECOVERED_AFTER: usize = 3;
const STABLE_FOR: Duration = Duration::from_secs(3);

/// A dependency to stop, the traffic to send meanwhile (one worker per entry), and
/// for how long.
struct Fault {
    dependency: &'static str,
    mix: &'static [Kind],
    down_for: Duration,
    /// Every request, in every phase, answers within this.
    deadline: Duration,
    /// True once the stopped dependency no longer answers: the fault phase starts then.
    is_down: fn() -> bool,
}

/// `pg_ctl stop -w` returns once the server is down.
fn stopped_by_pg_ctl() -> bool {
    true
}

const READS_AND_WRITES: &[Kind] = &[
    Kind::AnonymousList,
    Kind::BearerList,
    Kind::CreatePost,
    Kind::CreatePost,
];

const REPLICA: Fault = Fault {
    dependency: "replica",
    mix: READS_AND_WRITES,
    down_for: Duration::from_secs(10),
    deadline: DEADLINE,
    is_down: stopped_by_pg_ctl,
};

const WRITER: Fault = Fault {
    dependency: "writer",
    mix: READS_AND_WRITES,
    // Longer: until a breaker opens, each write waits out the pool's acquire timeout
    // and the reads queue behind it (one request per function at a time locally).
    down_for: Duration::from_secs(15),
    deadline: DEADLINE,
    is_down: stopped_by_pg_ctl,
};

/// With DynamoDB (dynalite) and Secrets Manager (moto) down, calls fail fast once the
/// DynamoDB and secrets breakers open; the fault lasts longer so the breakers' trials
/// (every BREAKER_OPEN_SECONDS) are seen. `stop-aws`/`start-aws` stop and start both.
const AWS: Fault = Fault {
    dependency: "aws",
    mix: &[
        Kind::AnonymousList,
        Kind::BearerList,
        Kind::CreatePost,
        Kind::Login,
    ],
    down_for: Duration::from_secs(20),
    deadline: DEADLINE,
    is_down: aws_is_down,
};

/// Starts a stopped PostgreSQL server again whatever a failed assertion left behind
/// (`start-writer`/`start-replica` do nothing when it runs).
struct RestartPostgres(&'static str);

impl Drop for RestartPostgres {
    fn drop(&mut self) {
        stack(&format!("start-{}", self.0));
    }
}

/// `scripts/stack.sh` off the runtime's threads, so the workers keep sending meanwhile.
async fn stack_command(command: String) {
    let script_command = command.clone();
    tokio::task::spawn_blocking(move || stack(&script_command))
        .await
        .unwrap_or_else(|e| panic!("scripts/stack.sh {command}: {e}"));
}

async fn healthy() -> bool {
    let app = app();
    let (status, body) = app.health("").await;
    status == 200 && body["status"] == "healthy"
}

async fn wait_until_healthy() {
    api_tests::eventually("health to say healthy", RECOVERY_LIMIT, || async {
        healthy().await.then_some(())
    })
    .await;
}

/// Polls until health says healthy and the traffic has recovered; the time it took,
/// or `None` past [`RECOVERY_LIMIT`].
async fn wait_for_recovery(traffic: &Traffic, mix: &[Kind]) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < RECOVERY_LIMIT {
        let served = traffic.recovered(mix, Phase::Recovering, RECOVERED_AFTER, STABLE_FOR);
        if served && healthy().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// One fault: healthy traffic, the dependency stopped, started again, recovery
/// awaited, more traffic. Prints the report (also when the API never recovers) and
/// returns the checks every fault shares, for the test to add its own.
async fn run_fault(fault: &Fault) -> Verdict {
    let dependency = fault.dependency;
    wait_until_healthy().await;
    let actor = Actor::sign_up().await;
    let traffic = Traffic::start(actor, fault.mix).unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(HEALTHY_FOR).await;

    traffic.enter(Phase::Stopping);
    stack_command(format!("stop-{dependency}")).await;
    api_tests::eventually(
        &format!("the {dependency} to be down"),
        Duration::from_secs(10),
        || async { (fault.is_down)().then_some(()) },
    )
    .await;
    traffic.enter(Phase::Fault);
    tokio::time::sleep(fault.down_for).await;

    traffic.enter(Phase::Recovering);
    stack_command(format!("start-{dependency}")).await;
    let recovery = wait_for_recovery(&traffic, fault.mix).await;
    traffic.enter(Phase::After);
    if recovery.is_some() {
        tokio::time::sleep(RECOVERED_FOR).await;
    }
    let outcomes = traffic.stop().await;

    println!(
        "{}",
        traffic::report(&format!("{dependency} stopped"), &outcomes)
    );
    match recovery {
        Some(took) => println!("served every kind again {took:.1?} after the restart began"),
        None => panic!(
            "the API did not serve every kind again within {RECOVERY_LIMIT:?} of starting the {dependency} \
             (without restarting the functions); see the report above"
        ),
    }
    let lost = traffic::lost_posts(&database().await, &outcomes)
        .await
        .unwrap_or_else(|e| panic!("cannot read the acknowledged posts back: {e}"));
    let mut verdict = Verdict {
        outcomes,
        broken: Vec::new(),
    };
    verdict.check(
        lost.is_empty(),
        format!("acknowledged with 201 but missing (or changed) on the writer: {lost:?}"),
    );
    verdict.common(fault.deadline);
    verdict
}

/// Every expectation a run broke, reported together so one run shows all of them.
struct Verdict {
    outcomes: Vec<Outcome>,
    broken: Vec<String>,
}

impl Verdict {
    fn check(&mut self, holds: bool, message: String) {
        if !holds {
            self.broken.push(message);
        }
    }

    /// What holds in every fault: an answer within the deadline, no 5xx but 503, and
    /// everything served once the API has recovered.
    fn common(&mut self, deadline: Duration) {
        self.every(
            &format!("every request answers within {deadline:?}"),
            |_| true,
            |o| o.latency < deadline,
        );
        self.every(
            "no 5xx other than 503, no transport failure",
            |_| true,
            |o| o.status().is_some_and(|s| s < 500 || s == 503),
        );
        self.every(
            "every request succeeds once recovered",
            |o| o.phase == Phase::After,
            Outcome::succeeded,
        );
    }

    /// Every outcome picked by `selected` satisfies `holds`.
    fn every(
        &mut self,
        what: &str,
        selected: impl Fn(&Outcome) -> bool,
        holds: impl Fn(&Outcome) -> bool,
    ) {
        let picked: Vec<&Outcome> = self.outcomes.iter().filter(|o| selected(o)).collect();
        let broken: Vec<String> = picked
            .iter()
            .filter(|o| !holds(o))
            .map(|o| format!("    {o}"))
            .collect();
        let first: Vec<&str> = broken.iter().take(5).map(String::as_str).collect();
        self.check(
            broken.is_empty(),
            format!(
                "{what}: {} of {} requests did not, first ones:\n{}",
                broken.len(),
                picked.len(),
                first.join("\n")
            ),
        );
    }

    /// At least one request of `kind` in `phase`, so that phase's checks are not vacuous.
    fn sent(&mut self, kind: Kind, phase: Phase) {
        let sent = self
            .outcomes
            .iter()
            .any(|o| o.kind == kind && o.phase == phase);
        self.check(
            sent,
            format!(
                "no {} request in the {} phase: the traffic did not run through it",
                kind.name(),
                phase.name()
            ),
        );
    }

    fn finish(self) {
        assert!(
            self.broken.is_empty(),
            "{} expectation(s) broken:\n  - {}",
            self.broken.len(),
            self.broken.join("\n  - ")
        );
    }
}

/// 503 SERVICE_UNAVAILABLE with Retry-After: "try again later", the fail-closed answer.
fn unavailable(outcome: &Outcome) -> bool {
    outcome.status() == Some(503)
        && outcome.code() == Some("SERVICE_UNAVAILABLE")
        && outcome.retry_after()
}

fn in_phases(kinds: &'static [Kind], phases: &'static [Phase]) -> impl Fn(&Outcome) -> bool {
    move |o| kinds.contains(&o.kind) && phases.contains(&o.phase)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serial_fault_replica_stopped_no_read_fails() {
    let _restart = RestartPostgres(REPLICA.dependency);
    let mut verdict = run_fault(&REPLICA).await;
    verdict.sent(Kind::AnonymousList, Phase::Fault);
    // Reads fall back to the writer; writes never touch the replica.
    verdict.every(
        "with the replica stopped, reads and writes all succeed",
        |_| true,
        Outcome::succeeded,
    );
    verdict.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serial_fault_writer_stopped_writes_503_reads_succeed_and_recover() {
    let _restart = RestartPostgres(WRITER.dependency);
    let mut verdict = run_fault(&WRITER).await;
    for kind in [Kind::CreatePost, Kind::AnonymousList, Kind::BearerList] {
        verdict.sent(kind, Phase::Fault);
    }
    verdict.every(
        "reads never fail while the writer is down (the replica serves them)",
        |o| o.kind.is_read(),
        Outcome::succeeded,
    );
    verdict.every(
        "writes succeed before the fault",
        in_phases(&[Kind::CreatePost], &[Phase::Before]),
        Outcome::succeeded,
    );
    verdict.every(
        "writes with the writer down answer 503 SERVICE_UNAVAILABLE with Retry-After",
        in_phases(&[Kind::CreatePost], &[Phase::Fault]),
        unavailable,
    );
    verdict.every(
        "writes while it stops or restarts succeed or answer 503 with Retry-After",
        in_phases(&[Kind::CreatePost], &[Phase::Stopping, Phase::Recovering]),
        |o| o.succeeded() || unavailable(o),
    );
    verdict.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serial_fault_aws_stopped_auth_fails_closed_reads_fail_open() {
    let _restart = RestoreAws;
    let mut verdict = run_fault(&AWS).await;
    verdict.sent(Kind::Login, Phase::Fault);
    verdict.sent(Kind::AnonymousList, Phase::Fault);
    verdict.sent(Kind::BearerList, Phase::Recovering);
    verdict.every(
        "anonymous reads never fail (rate limiting fails open)",
        |o| o.kind == Kind::AnonymousList,
        Outcome::succeeded,
    );
    // While the emulators are down the functions verify with the keys they cached; a
    // restarted moto is provisioned with the stack's own key material
    // (.stack/<name>/keys) and dynalite kept the sessions on disk, so tokens from
    // before the fault stay valid through it. (DynamoDB on moto comes back empty: the
    // session is unknown, and its tokens are refused once it is back.)
    let phases: &'static [Phase] = if api_tests::dynamodb_persists() {
        &[
            Phase::Before,
            Phase::Stopping,
            Phase::Fault,
            Phase::Recovering,
            Phase::After,
        ]
    } else {
        &[Phase::Before, Phase::Stopping, Phase::Fault]
    };
    verdict.every(
        "bearer reads and writes succeed (cached keys, the same keys and sessions after the restart, limits fail open)",
        in_phases(&[Kind::BearerList, Kind::CreatePost], phases),
        Outcome::succeeded,
    );
    verdict.every(
        "logins succeed before the fault",
        in_phases(&[Kind::Login], &[Phase::Before]),
        Outcome::succeeded,
    );
    verdict.every(
        "logins with DynamoDB and Secrets Manager down fail closed: 503 SERVICE_UNAVAILABLE with Retry-After",
        in_phases(&[Kind::Login], &[Phase::Fault]),
        unavailable,
    );
    verdict.every(
        "logins while they stop or restart succeed or fail closed (503 with Retry-After)",
        in_phases(&[Kind::Login], &[Phase::Stopping, Phase::Recovering]),
        |o| o.succeeded() || unavailable(o),
    );
    verdict.finish();
}

/// The database password as RDS rotates it: a new password on the role and in the
/// secret (`ALTER ROLE` + `PutSecretValue`), and the app's connections closed, as the
/// proxy or a recycled instance would, so new ones must log in with the new password.
struct Rotation {
    primary: sqlx::PgConnection,
    replica: sqlx::PgConnection,
    secrets: aws_sdk_secretsmanager::Client,
    original: String,
}

impl Rotation {
    async fn open() -> Self {
        use sqlx::Connection;
        let connect = |var: &'static str| async move {
            sqlx::PgConnection::connect(&api_tests::require_env(var))
                .await
                .unwrap_or_else(|e| panic!("{var}: {e}"))
        };
        let aws = shared::config::AwsConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
        let secret = Self::secret_client(&aws).await;
        let original = secret
            .get_secret_value()
            .secret_id(api_tests::require_env("DB_SECRET_ID"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let original: serde_json::Value =
            serde_json::from_str(original.secret_string().unwrap_or_default()).unwrap_or_default();
        Self {
            primary: connect("DATABASE_URL").await,
            replica: connect("DATABASE_URL_REPLICA").await,
            secrets: secret,
            original: original["password"].as_str().unwrap_or_default().to_owned(),
        }
    }

    async fn secret_client(aws: &shared::config::AwsConfig) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&shared::state::aws_sdk_config(aws).await)
    }

    /// Sets `password` on the role and in the secret, then ends the app's sessions.
    async fn to(&mut self, password: &str) {
        // A role may change its own password. ALTER ROLE takes no parameters; the
        // literal is quoted (and the passwords here are made of letters and digits).
        let quoted = password.replace('\'', "''");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER ROLE CURRENT_USER PASSWORD '{quoted}'"
        )))
        .execute(&mut self.primary)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let username = api_tests::require_env("DATABASE_URL")
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or("blue_harvest")
            .to_owned();
        self.secrets
            .put_secret_value()
            .secret_id(api_tests::require_env("DB_SECRET_ID"))
            .secret_string(
                serde_json::json!({"username": username, "password": password}).to_string(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        for connection in [&mut self.primary, &mut self.replica] {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name LIKE 'blue-harvest-%' AND pid <> pg_backend_pid()",
            )
            .execute(connection)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Not a stop but a change: the API must carry on by itself, with no 500 at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serial_fault_database_password_rotated_under_traffic() {
    wait_until_healthy().await;
    let mut rotation = Rotation::open().await;
    let actor = Actor::sign_up().await;
    let traffic = Traffic::start(actor, READS_AND_WRITES).unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(HEALTHY_FOR).await;

    traffic.enter(Phase::Stopping);
    let rotated = format!("rotated {}", uuid::Uuid::new_v4().simple());
    rotation.to(&rotated).await;
    traffic.enter(Phase::Recovering);
    let recovery = wait_for_recovery(&traffic, READS_AND_WRITES).await;
    traffic.enter(Phase::After);
    tokio::time::sleep(RECOVERED_FOR).await;
    let outcomes = traffic.stop().await;
    // Back to what the stack's URLs (the tests' own connections) hold.
    let original = rotation.original.clone();
    rotation.to(&original).await;

    println!(
        "{}",
        traffic::report("database password rotated", &outcomes)
    );
    match recovery {
        Some(took) => println!("served every kind again {took:.1?} after the rotation"),
        None => panic!("the API did not recover within {RECOVERY_LIMIT:?} of the rotation"),
    }
    let lost = traffic::lost_posts(&database().await, &outcomes)
        .await
        .unwrap_or_else(|e| panic!("cannot read the acknowledged posts back: {e}"));
    let mut verdict = Verdict {
        outcomes,
        broken: Vec::new(),
    };
    verdict.check(
        lost.is_empty(),
        format!("acknowledged but missing: {lost:?}"),
    );
    verdict.common(DEADLINE);
    verdict.every(
        "no 500 for a rotated password (a refusal is retried with the new secret)",
        |_| true,
        |o| o.status() != Some(500),
    );
    verdict.sent(Kind::CreatePost, Phase::Recovering);
    verdict.finish();
}
