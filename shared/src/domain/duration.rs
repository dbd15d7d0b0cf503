//! Durations in query strings, e.g. `?window=24h`: ASCII digits and one unit (`s`,
//! `m`, `h`, `d`), parsed with checked arithmetic into a type with bounds. Any other
//! input (empty, signs, spaces, other scripts, overflowing numbers) is an error,
//! never a panic; the query extractor answers it with a 400 envelope.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Deserializer, de::Error as _};

/// Why a duration did not parse (the message a client sees).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DurationError {}

/// `<digits><unit>` to a duration; no bounds beyond what a `u64` of seconds holds.
pub fn parse_duration(raw: &str) -> Result<Duration, DurationError> {
    let shape =
        || DurationError("must be a whole number and a unit: s, m, h or d (e.g. 24h)".into());
    // Split on the last character, whatever its width: a multi-byte character is
    // simply not a unit.
    let mut chars = raw.chars();
    let unit = chars.next_back().ok_or_else(shape)?;
    let digits = chars.as_str();
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(shape());
    }
    let number: u64 = digits.parse().map_err(|_| shape())?;
    let unit_seconds: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(shape()),
    };
    number
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| DurationError("is too long".into()))
}

/// The look-back window of `GET /api/admin/security/stats`: 1 minute to 400 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window(Duration);

impl Window {
    pub const MIN: Duration = Duration::from_secs(60);
    pub const MAX: Duration = Duration::from_secs(400 * 86_400);
    pub const DEFAULT: Self = Self(Duration::from_secs(86_400));

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for Window {
    type Err = DurationError;

    fn from_str(raw: &str) -> Result<Self, DurationError> {
        let duration = parse_duration(raw)?;
        if duration < Self::MIN || duration > Self::MAX {
            return Err(DurationError("must be between 1m and 400d".into()));
        }
        Ok(Self(duration))
    }
}

/// Shown back as the client wrote it, in the largest unit that divides it.
impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs();
        match [(86_400, 'd'), (3_600, 'h'), (60, 'm')]
            .into_iter()
            .find(|(unit, _)| seconds.is_multiple_of(*unit))
        {
            Some((unit, symbol)) => write!(f, "{}{symbol}", seconds / unit),
            None => write!(f, "{seconds}s"),
        }
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse()
            .map_err(|e: DurationError| D::Error::custom(format!("window {e}")))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn windows_parse_within_bounds() {
        let secs = |raw: &str| raw.parse::<Window>().map(|w| w.duration().as_secs());
        assert_eq!(secs("24h"), Ok(86_400));
        assert_eq!(secs("30m"), Ok(1_800));
        assert_eq!(secs("7d"), Ok(604_800));
        assert_eq!(secs("90s"), Ok(90));
        for bad in [
            "",
            "h",
            "0h",
            "-1h",
            "+1h",
            "24",
            "1y",
            "999d",
            " 1h",
            "1h ",
            "1 h",
            "é",
            "1é",
            "é1h",
            "١h",
            "59s",
            "106751991167301d",
            "99999999999999999999999d",
        ] {
            assert!(bad.parse::<Window>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn windows_print_in_their_largest_unit() {
        for (raw, shown) in [
            ("24h", "1d"),
            ("90m", "90m"),
            ("120s", "2m"),
            ("61s", "61s"),
        ] {
            assert_eq!(
                raw.parse::<Window>().map(|w| w.to_string()),
                Ok(shown.to_owned())
            );
        }
    }

    proptest! {
        /// No input panics; whatever parses is within the bounds.
        #[test]
        fn any_text_parses_or_is_refused(raw in any::<String>()) {
            let _ = parse_duration(&raw);
            if let Ok(window) = raw.parse::<Window>() {
                prop_assert!(window.duration() >= Window::MIN && window.duration() <= Window::MAX);
            }
        }

        /// Digits and a unit mean exactly number × unit, or "too long" past u64.
        #[test]
        fn numbers_and_units_are_exact(number in any::<u64>(), unit in prop::sample::select(vec![('s', 1_u64), ('m', 60), ('h', 3_600), ('d', 86_400)])) {
            let parsed = parse_duration(&format!("{number}{}", unit.0));
            match number.checked_mul(unit.1) {
                Some(seconds) => prop_assert_eq!(parsed, Ok(Duration::from_secs(seconds))),
                None => prop_assert!(parsed.is_err()),
            }
        }

        /// A window prints as text that parses back to itself.
        #[test]
        fn windows_round_trip(seconds in 60_u64..=400 * 86_400) {
            let window = Window(Duration::from_secs(seconds));
            prop_assert_eq!(window.to_string().parse::<Window>(), Ok(window));
        }
    }
}
