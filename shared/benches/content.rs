//! Microbenchmarks of per-request domain work (results in docs/benchmarks.md): cursor
//! encode and decode, and sanitizing a 10 KiB post body.

use std::hint::black_box;

use base64::{Engine, engine::general_purpose::STANDARD};
use criterion::{Criterion, criterion_group, criterion_main};
use shared::{
    cursor,
    domain::content::sanitize_html,
    secrets::{AppKeys, FromSecret},
};

fn cursors(c: &mut Criterion) {
    let key = STANDARD.encode([7_u8; 32]);
    let secret = serde_json::json!({"refreshKey": key, "csrfKey": key, "cursorKey": key, "totpKey": key, "backupCodeKey": key});
    let keys = AppKeys::parse("bench", &secret.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let position = (1_795_329_000_123_456_i64, 987_654_i64);
    let encoded = cursor::encode(&keys.cursor, &position);
    c.bench_function("cursor encode", |b| {
        b.iter(|| cursor::encode(&keys.cursor, black_box(&position)))
    });
    c.bench_function("cursor decode (HMAC verified)", |b| {
        b.iter(|| cursor::decode::<(i64, i64)>(&keys.cursor, black_box(&encoded)))
    });
}

/// 10 KiB of typical post HTML with links, formatting and some hostile markup.
fn body() -> String {
    let paragraph = r#"<p>Harvest <strong>notes</strong> for the <em>north</em> field: see <a href="https://example.com/fields" title="fields" onclick="steal()">the map</a>.<script>alert(1)</script><img src=x onerror=alert(1)></p><ul><li>rows 1&ndash;4</li><li>rows 5&ndash;8</li></ul>"#;
    paragraph.repeat(10 * 1024 / paragraph.len() + 1)
}

fn sanitizing(c: &mut Criterion) {
    let html = body();
    c.bench_function("sanitize a 10 KiB post body (ammonia)", |b| {
        b.iter(|| sanitize_html(black_box(&html)))
    });
}

criterion_group!(benches, cursors, sanitizing);
criterion_main!(benches);
