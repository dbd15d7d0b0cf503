//! Reading configuration values: [`Env`], which every section's `load` takes (each
//! section lives beside its users: `db/config.rs`, `auth/config.rs`, ...).

use std::{cell::RefCell, fmt::Display, str::FromStr, time::Duration};

fn process_variable(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Where configuration values come from: the process environment in production, a map
/// in unit tests. It also notes every variable it is asked for, with the default the
/// caller would use, which is how [`settings`] knows every setting without a list
/// kept by hand.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// (variable, default shown) in the order first read.
    pub(super) read: RefCell<Vec<(&'static str, Option<String>)>>,
}

impl<'a> Env<'a> {
    /// The process environment.
    pub fn process() -> Env<'static> {
        Env::new(&process_variable)
    }

    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            read: RefCell::default(),
        }
    }

    /// Records that `var` is read, with the default shown for it (for a reader that
    /// parses the value itself).
    pub fn note(&self, var: &'static str, default: Option<String>) {
        let mut read = self.read.borrow_mut();
        match read.iter_mut().find(|(name, _)| *name == var) {
            Some((_, known)) => {
                if known.is_none() {
                    *known = default;
                }
            }
            None => read.push((var, default)),
        }
    }

    pub fn get(&self, var: &'static str) -> Option<String> {
        self.note(var, None);
        (self.lookup)(var).filter(|value| !value.trim().is_empty())
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or(ConfigError::Missing(var))
    }

    pub fn parsed_or<T: FromStr + Display>(
        &self,
        var: &'static str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.note(var, Some(default.to_string()));
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    var,
                    reason: e.to_string(),
                }),
        }
    }

    pub fn millis_or(&self, var: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
        self.parsed_or(var, default_ms).map(Duration::from_millis)
    }

    pub fn positive<T: FromStr + PartialOrd + Default + Display>(
        &self,
        var: &'static str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        let value = self.parsed_or(var, default)?;
        if value <= T::default() {
            return Err(ConfigError::Invalid {
                var,
                reason: "must be greater than zero".into(),
            });
        }
        Ok(value)
    }

    pub fn list(&self, var: &'static str) -> Vec<String> {
        self.get(var)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}
