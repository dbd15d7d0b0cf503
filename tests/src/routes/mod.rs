//! A method on [`TestApp`](crate::TestApp) per route the suites call, named after the
//! route, made of the generic requests of `verbs.rs`: `(ids..., token, body)` in, the
//! response out (or, for the anonymous reads, its status and JSON). Paths with a
//! query, a cursor walk or a table of routes use the generic requests directly.

mod accounts;
mod admin;
mod auth;
mod content;
