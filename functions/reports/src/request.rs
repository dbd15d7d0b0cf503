//! Report request bodies and the list query. Target type, reason and status are
//! closed sets: they parse into enums, so an unknown value is a 400 naming the field.

use serde::{Deserialize, Serialize};
use shared::{
    ApiError,
    domain::{ValidationErrors, content::note},
};
use utoipa::{IntoParams, ToSchema};

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[schema(as = ReportTargetType)]
pub enum TargetType {
    Post,
    Comment,
    Profile,
    Account,
}

impl TargetType {
    /// The `reports.target_type` value (the table's CHECK lists the same four).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Comment => "comment",
            Self::Profile => "profile",
            Self::Account => "account",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[schema(as = ReportReason)]
pub enum Reason {
    Spam,
    Abuse,
    Harassment,
    Illegal,
    Other,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Abuse => "abuse",
            Self::Harassment => "harassment",
            Self::Illegal => "illegal",
            Self::Other => "other",
        }
    }
}

/// A report's review state. Resolved and dismissed are closed: they record who closed
/// the report and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[schema(as = ReportStatus)]
pub enum Status {
    Open,
    Reviewing,
    Resolved,
    Dismissed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Reviewing => "reviewing",
            Self::Resolved => "resolved",
            Self::Dismissed => "dismissed",
        }
    }

    /// The status a row holds (the table's CHECK allows only these).
    pub fn from_db(raw: &str) -> Option<Self> {
        [Self::Open, Self::Reviewing, Self::Resolved, Self::Dismissed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::Dismissed)
    }
}

/// What a status change does to `resolved_by` and `resolved_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Closed now: the caller, at the current time.
    Stamp,
    /// Already closed this way (only the note changes): who closed it first stays.
    Keep,
    /// Open again: nobody has resolved it.
    Clear,
}

impl Resolution {
    /// `from` is None when the stored status is not one we know; it then counts as a change.
    pub fn between(from: Option<Status>, to: Status) -> Self {
        if !to.is_closed() {
            Self::Clear
        } else if from == Some(to) {
            Self::Keep
        } else {
            Self::Stamp
        }
    }
}

/// Free text, trimmed; empty means none.
fn optional_note(
    errors: &mut ValidationErrors,
    raw: Option<&str>,
    field: &str,
) -> Option<Option<String>> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => errors.check(field, note(text, field)).map(Some),
        None => Some(None),
    }
}

/// A report of a post, comment, profile or account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateReport {
    target_type: TargetType,
    target_id: i64,
    reason: Reason,
    /// What the reporter adds, trimmed; empty means none.
    #[schema(max_length = 2000)]
    details: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub target_type: TargetType,
    pub target_id: i64,
    pub reason: Reason,
    pub details: Option<String>,
}

impl CreateReport {
    pub fn parse(self) -> Result<NewReport, ApiError> {
        let mut errors = ValidationErrors::default();
        let details = optional_note(&mut errors, self.details.as_deref(), "details");
        match details {
            Some(details) if errors.is_empty() => Ok(NewReport {
                target_type: self.target_type,
                target_id: self.target_id,
                reason: self.reason,
                details,
            }),
            _ => Err(errors.into()),
        }
    }
}

/// A review step: the new status, and the note (null or empty clears it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateReport {
    status: Status,
    #[schema(max_length = 2000)]
    resolution_note: Option<String>,
}

/// What a PATCH changes on the note: absent keeps it, empty clears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteChange {
    Keep,
    Set(String),
    Clear,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportChange {
    pub status: Status,
    pub note: NoteChange,
}

impl UpdateReport {
    pub fn parse(self) -> Result<ReportChange, ApiError> {
        let mut errors = ValidationErrors::default();
        let note = match self.resolution_note.as_deref() {
            None => Some(NoteChange::Keep),
            Some(raw) => optional_note(&mut errors, Some(raw), "resolutionNote")
                .map(|note| note.map_or(NoteChange::Clear, NoteChange::Set)),
        };
        match note {
            Some(note) if errors.is_empty() => Ok(ReportChange {
                status: self.status,
                note,
            }),
            _ => Err(errors.into()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only reports in this state.
    pub status: Option<Status>,
    /// Page size, 1 to 1000 (clamped); 50 when absent.
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page (HMAC-signed; a tampered one is a 400).
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn create(body: Value) -> Result<NewReport, String> {
        serde_json::from_value::<CreateReport>(body)
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|e| format!("{e:?}"))
    }

    fn update(body: Value) -> Result<ReportChange, String> {
        serde_json::from_value::<UpdateReport>(body)
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn a_report_names_a_known_target_type_and_reason() {
        let report = create(
            json!({"targetType": "comment", "targetId": 7, "reason": "spam", "details": "  buy now  "}),
        );
        assert_eq!(
            report,
            Ok(NewReport {
                target_type: TargetType::Comment,
                target_id: 7,
                reason: Reason::Spam,
                details: Some("buy now".into()),
            })
        );
        let unknown_reason = create(json!({"targetType": "post", "targetId": 1, "reason": "rude"}));
        assert!(unknown_reason.is_err_and(|e| e.contains("unknown variant")));
        assert!(create(json!({"targetType": "user", "targetId": 1, "reason": "spam"})).is_err());
        assert!(create(json!({"targetType": "post", "targetId": 1, "reason": "Spam"})).is_err());
        assert!(
            create(
                json!({"targetType": "post", "targetId": 1, "reason": "spam", "status": "resolved"})
            )
            .is_err(),
            "unknown fields"
        );
    }

    #[test]
    fn details_are_at_most_2000_characters() {
        let with = |details: String| {
            create(
                json!({"targetType": "post", "targetId": 1, "reason": "other", "details": details}),
            )
        };
        assert!(with("é".repeat(2_000)).is_ok());
        assert!(with("x".repeat(2_001)).is_err_and(|e| e.contains("details")));
        assert_eq!(with("   ".into()).map(|r| r.details), Ok(None));
    }

    #[test]
    fn a_patch_sets_keeps_or_clears_the_note() {
        let note = |body: Value| update(body).map(|c| c.note);
        assert_eq!(note(json!({"status": "reviewing"})), Ok(NoteChange::Keep));
        assert_eq!(
            note(json!({"status": "resolved", "resolutionNote": "removed"})),
            Ok(NoteChange::Set("removed".into()))
        );
        assert_eq!(
            note(json!({"status": "open", "resolutionNote": ""})),
            Ok(NoteChange::Clear)
        );
        assert!(
            update(json!({"status": "resolved", "resolutionNote": "x".repeat(2_001)}))
                .is_err_and(|e| e.contains("resolutionNote"))
        );
        assert!(update(json!({"status": "closed"})).is_err());
        assert!(update(json!({})).is_err());
    }

    #[test]
    fn closing_stamps_reopening_clears() {
        use Status::*;
        assert_eq!(Resolution::between(Some(Open), Resolved), Resolution::Stamp);
        assert_eq!(
            Resolution::between(Some(Resolved), Dismissed),
            Resolution::Stamp
        );
        assert_eq!(
            Resolution::between(Some(Resolved), Resolved),
            Resolution::Keep
        );
        assert_eq!(
            Resolution::between(Some(Dismissed), Reviewing),
            Resolution::Clear
        );
        assert_eq!(Resolution::between(Some(Resolved), Open), Resolution::Clear);
        assert_eq!(Resolution::between(None, Dismissed), Resolution::Stamp);
    }

    #[test]
    fn statuses_round_trip_through_the_database_names() {
        for status in [
            Status::Open,
            Status::Reviewing,
            Status::Resolved,
            Status::Dismissed,
        ] {
            assert_eq!(Status::from_db(status.as_str()), Some(status));
        }
        assert_eq!(Status::from_db("closed"), None);
    }
}
