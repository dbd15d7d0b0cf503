//! [`TestApp`]: the API under test and the one HTTP client every test shares.
//!
//! The client is built once per test process and pools its connections. Its
//! connections live on a runtime of their own: `#[tokio::test]` gives every test a
//! runtime that ends with the test, and a pooled connection whose task died with an
//! earlier test's runtime fails the next request that picks it up ("runtime dropped the
//! dispatch task"). So every request is sent from [`TestApp`]'s runtime, and the test
//! awaits the answer from its own.

use std::{future::Future, sync::LazyLock, time::Duration};

use reqwest::{Method, RequestBuilder, Response};

/// Per-request bound: API Gateway gives up at 30 s, so a client would too.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API under test (`BH_API_URL`, else `http://127.0.0.1:$BH_API_PORT`, port 9010
/// by default: the test stack) and the one pooled client every test sends through.
/// Get it with [`app()`]; a method per route lives beside it (`routes/`).
pub struct TestApp {
    base_url: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

static APP: LazyLock<TestApp> = LazyLock::new(TestApp::start);

/// The shared [`TestApp`], built by the first test that asks.
pub fn app() -> &'static TestApp {
    &APP
}

/// A new client with the settings every test client has (a timeout of
/// [`REQUEST_TIMEOUT`]). Tests share [`app()`]'s; the benchmarks' load generator gives
/// each simulated client its own.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap_or_else(|e| panic!("cannot build the HTTP client: {e}"))
}

/// The base URL of the API under test.
fn base_url() -> String {
    std::env::var("BH_API_URL").unwrap_or_else(|_| {
        let port = std::env::var("BH_API_PORT").unwrap_or_else(|_| "9010".into());
        format!("http://127.0.0.1:{port}")
    })
}

impl TestApp {
    fn start() -> TestApp {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-app-http")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the HTTP client's runtime: {e}"));
        // Anything the client sets up runs on its own runtime.
        let _context = runtime.enter();
        let client = new_client();
        TestApp {
            base_url: base_url(),
            client,
            runtime,
        }
    }

    /// The full URL of `path` (`/api/...`, with its query string if any).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The port the API listens on (for `cargo lambda invoke -P`).
    pub fn port(&self) -> &str {
        self.base_url.rsplit(':').next().unwrap_or("9010")
    }

    /// A request to `path` on the shared client, to add headers or a body to and send
    /// with [`Request::send`], [`Request::send_once`] or [`Request::try_send`].
    pub fn http(&self, method: Method, path: &str) -> Request<'_> {
        Request {
            app: self,
            builder: self.client.request(method, self.url(path)),
        }
    }

    /// [`TestApp::http`] to another server of the run (`base_url`, e.g. the one with
    /// the default limits that `scripts/test.sh` serves for the attack suites).
    pub fn http_at(&self, base_url: &str, method: Method, path: &str) -> Request<'_> {
        Request {
            app: self,
            builder: self.client.request(method, format!("{base_url}{path}")),
        }
    }

    pub fn get(&self, path: &str) -> Request<'_> {
        self.http(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Request<'_> {
        self.http(Method::POST, path)
    }

    pub fn delete(&self, path: &str) -> Request<'_> {
        self.http(Method::DELETE, path)
    }

    /// Runs `future` on the client's runtime and waits for it from the caller's.
    async fn on_client_runtime<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime
            .spawn(future)
            .await
            .unwrap_or_else(|e| panic!("the request's task failed: {e}"))
    }
}

/// A request being built on the shared client; see [`TestApp::http`].
pub struct Request<'a> {
    app: &'a TestApp,
    builder: RequestBuilder,
}

impl Request<'_> {
    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.builder = self.builder.header(name, value.as_ref());
        self
    }

    pub fn bearer_auth(mut self, token: impl std::fmt::Display) -> Self {
        self.builder = self.builder.bearer_auth(token);
        self
    }

    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.builder = self.builder.json(body);
        self
    }

    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.body(body);
        self
    }

    /// Sends, again once after a 500 from the emulator itself (see [`send`]); panics
    /// when no answer comes.
    pub async fn send(self) -> Response {
        self.app
            .on_client_runtime(send_retrying(self.builder))
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    /// Sends exactly once; panics when no answer comes.
    pub async fn send_once(self) -> Response {
        self.try_send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    /// Sends exactly once; a transport failure (refused, reset, timed out) is the
    /// caller's to look at.
    pub async fn try_send(self) -> reqwest::Result<Response> {
        let builder = self.builder;
        self.app
            .on_client_runtime(async move { builder.send().await })
            .await
    }
}

/// Sends a request; a 500 from the cargo lambda watch emulator itself (its
/// problem+json, not our envelope: the function was not reached) is retried once.
/// Seen rarely under heavy parallel load; API Gateway has no such layer. Panics when
/// no answer comes.
///
/// On [`app()`]'s client use [`Request::send`], which does this on the client's
/// runtime; this is for a client of one's own ([`new_client`]).
pub async fn send(request: RequestBuilder) -> Response {
    send_retrying(request)
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"))
}

/// [`send`] without the panic: it may run on the client's runtime, whose threads do
/// not report a panic to the test that caused it.
async fn send_retrying(request: RequestBuilder) -> reqwest::Result<Response> {
    let retry = request.try_clone();
    let response = request.send().await?;
    if response.status() != 500 {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap_or_default();
    let from_emulator = String::from_utf8_lossy(&bytes).contains("httpstatuses.com");
    match retry {
        Some(retry) if from_emulator => retry.send().await,
        _ => {
            let mut rebuilt = http::Response::new(bytes);
            *rebuilt.status_mut() = status;
            *rebuilt.headers_mut() = headers;
            Ok(Response::from(rebuilt))
        }
    }
}
