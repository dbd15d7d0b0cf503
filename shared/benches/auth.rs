//! Microbenchmarks of the auth hot paths (results in docs/benchmarks.md):
//! RS256 sign and verify, HS256 refresh-token sign and verify, a CSRF check, and
//! argon2id at the seed parameters (the floor under every login).

use std::{hint::black_box, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use criterion::{Criterion, criterion_group, criterion_main};
use shared::{
    auth::{access, config::Argon2Config, csrf, keyring::KeyRing, passwords::Passwords, refresh},
    secrets::{AppKeys, FromSecret},
};

/// The key set of the running dev stack is not reachable here, so one is made with
/// the same generator the stack uses (RSA-2048, PKCS#8).
fn keyring() -> KeyRing {
    let pem = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let secret =
        serde_json::json!({"keys": [{"kid": "bench", "status": "current", "privateKeyPem": pem}]});
    KeyRing::parse("bench", &secret.to_string()).unwrap_or_else(|e| panic!("{e} (needs openssl)"))
}

fn app_keys() -> AppKeys {
    let key = STANDARD.encode([7_u8; 32]);
    let secret = serde_json::json!({"refreshKey": key, "csrfKey": key, "cursorKey": key, "totpKey": key, "backupCodeKey": key});
    AppKeys::parse("bench", &secret.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

fn tokens(c: &mut Criterion) {
    let ring = keyring();
    let keys = app_keys();
    let subject = access::Subject {
        account_id: 42,
        username: "alice".into(),
        role_id: 1,
        amr: vec!["pwd".into()],
        session_id: "family".into(),
        auth_time: 0,
        email_verified: false,
    };
    let now = shared::auth::unix_now();
    let ttl = Duration::from_secs(900);
    let token = access::issue(&ring, &subject, ttl, now).unwrap_or_default();
    c.bench_function("access token: RS256 sign", |b| {
        b.iter(|| access::issue(&ring, black_box(&subject), ttl, now))
    });
    c.bench_function("access token: RS256 verify", |b| {
        b.iter(|| access::verify(&ring, black_box(&token), Duration::from_secs(30)))
    });
    let refresh_token =
        refresh::issue(&keys.refresh, 42, "family", 3, ttl, now).unwrap_or_default();
    c.bench_function("refresh token: HS256 sign", |b| {
        b.iter(|| refresh::issue(&keys.refresh, 42, black_box("family"), 3, ttl, now))
    });
    c.bench_function("refresh token: HS256 verify", |b| {
        b.iter(|| refresh::verify(&keys.refresh, black_box(&refresh_token)))
    });
    let csrf_token = csrf::issue(&keys.csrf, "family").unwrap_or_default();
    c.bench_function("csrf: verify", |b| {
        b.iter(|| {
            csrf::verify(
                &keys.csrf,
                "family",
                Some(black_box(&csrf_token)),
                Some(&csrf_token),
            )
        })
    });
}

fn argon2(c: &mut Criterion) {
    let seed = Argon2Config {
        memory_kib: 65_536,
        iterations: 3,
        parallelism: 4,
        output_len: 32,
    };
    let passwords = Passwords::new(seed).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let hash = runtime
        .block_on(passwords.hash("correct horse battery staple"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("argon2id m=64MiB t=3 p=4");
    group.sample_size(10);
    group.bench_function("hash", |b| {
        b.iter(|| runtime.block_on(passwords.hash(black_box("correct horse battery staple"))))
    });
    group.bench_function("verify (known account)", |b| {
        b.iter(|| {
            runtime
                .block_on(passwords.verify(black_box("correct horse battery staple"), Some(&hash)))
        })
    });
    group.bench_function("verify (unknown account, dummy hash)", |b| {
        b.iter(|| {
            runtime.block_on(passwords.verify(black_box("correct horse battery staple"), None))
        })
    });
    group.finish();
}

criterion_group!(benches, tokens, argon2);
criterion_main!(benches);
