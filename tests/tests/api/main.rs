//! Every integration and end-to-end suite, as one test binary (`cargo test -p api-tests
//! --test api`), one module per area. The end-to-end suites send every request through
//! the one pooled client of `api_tests::app()` (`tests/src/`).
//!
//! `scripts/test.sh` runs them in steps, by name: first everything else, in parallel;
//! then the tests named `serial_` (they stop servers, rotate keys, count statements)
//! one at a time; then those named `serial_fault_`; and `final_scan_of_this_runs_log`
//! last of all.

// End to end, through `cargo lambda watch`.
mod access_tokens;
// Through the second `cargo lambda watch`, with the default limits (scripts/test.sh).
mod account_security;
mod accounts;
mod admin_infrastructure;
mod admin_operations;
mod admin_security;
mod api;
mod auth_flows;
mod browser_sessions;
mod cold_start;
mod comments;
mod email_verification;
mod failover;
mod fault_injection;
mod graceful_shutdown;
mod key_rotation;
mod log_scan;
mod mail_queue;
mod password_reset;
mod permission_matrix;
mod posts;
mod profiles;
mod read_your_writes;
mod refresh_tokens;
mod reports;
mod revocation;
mod security_alerts;
mod settings;
mod stack_restart;
mod two_factor;

// In-process, through the shared HTTP stack or a function's own code, against the
// stack's PostgreSQL, DynamoDB (dynalite) and Secrets Manager (moto) where they need them.
mod auth_in_process;
mod dynamodb_exactness;
mod http_stack;
mod key_rotation_steps;
mod login_backoff;
mod mail_limits;
mod partition_maintenance;
mod password_hashing;
mod rate_limits;
mod secrets_cache;
