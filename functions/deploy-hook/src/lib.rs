//! CodeDeploy's pre-traffic hook for every HTTP function (`DeploymentPreference` in
//! `template.yaml`): before the `live` alias sends any traffic to a new version,
//! CodeDeploy calls this function with `{DeploymentId, LifecycleEventHookExecutionId}`;
//! it finds the function and version the deployment shifts to
//! (`ListDeploymentTargets`/`BatchGetDeploymentTargets`), invokes that version with
//! `events/apigw-health-ready.json` (`GET /api/health?type=ready`, the event API
//! Gateway would send) and reports `Succeeded` or `Failed`
//! (`PutLifecycleEventHookExecutionStatus`). Failed: CodeDeploy stops the deployment
//! and the alias stays on the old version.
//!
//! What passes: the new version starts (configuration, secrets, pools) and answers
//! with an HTTP response below 500. The health function must answer 200 (writer
//! reachable); the others answer the health path with their 404 envelope, which shows
//! their router and error rendering work.

use serde::Deserialize;
use serde_json::Value;

/// CodeDeploy's hook event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// What a deployment shifts: the function, and the version the alias will point to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub function_name: String,
    pub version: String,
}

/// `GET /api/health?type=ready` as API Gateway sends it.
pub const READY_EVENT: &str = include_str!("../../../events/apigw-health-ready.json");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("{function} version {version} failed: {error}")]
    FunctionError {
        function: String,
        version: String,
        error: String,
    },
    #[error("{function} version {version} answered {status}")]
    Status {
        function: String,
        version: String,
        status: u64,
    },
    #[error("{function} version {version} answered something that is not an HTTP response")]
    NotHttp { function: String, version: String },
}

/// Whether the new version's answer lets it take traffic. `function_error` is Lambda's
/// `FunctionError` (an unhandled error or a crash at start); `payload` the response.
pub fn verdict(
    target: &Target,
    is_health: bool,
    function_error: Option<&str>,
    payload: &[u8],
) -> Result<u64, Refusal> {
    let (function, version) = (target.function_name.clone(), target.version.clone());
    if let Some(error) = function_error {
        // The error type only: the payload may hold a message we do not want logged.
        return Err(Refusal::FunctionError {
            function,
            version,
            error: error.to_owned(),
        });
    }
    let status = serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|response| response["statusCode"].as_u64())
        .ok_or_else(|| Refusal::NotHttp {
            function: function.clone(),
            version: version.clone(),
        })?;
    let good = if is_health {
        status == 200
    } else {
        status < 500
    };
    if good {
        Ok(status)
    } else {
        Err(Refusal::Status {
            function,
            version,
            status,
        })
    }
}

/// Whether a deployment's function is the health function, named by the hook's
/// `HEALTH_FUNCTION_NAME` (CodeDeploy may give a name or an ARN).
pub fn is_health(function: &str, health_function: Option<&str>) -> bool {
    health_function.is_some_and(|health| {
        function == health || function.ends_with(&format!(":function:{health}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            function_name: "stack-HealthFunction-1A2B".into(),
            version: "7".into(),
        }
    }

    #[test]
    fn the_ready_event_asks_for_readiness() {
        let event: Value = serde_json::from_str(READY_EVENT).unwrap_or_default();
        assert_eq!(event["rawPath"], "/api/health");
        assert_eq!(event["rawQueryString"], "type=ready");
        assert_eq!(event["requestContext"]["http"]["method"], "GET");
    }

    #[test]
    fn health_must_be_ready_and_others_must_answer_below_500() {
        let ok = br#"{"statusCode": 200, "body": "{}"}"#;
        let not_found = br#"{"statusCode": 404, "body": "{}"}"#;
        let unavailable = br#"{"statusCode": 503, "body": "{}"}"#;
        assert_eq!(verdict(&target(), true, None, ok), Ok(200));
        assert!(matches!(
            verdict(&target(), true, None, unavailable),
            Err(Refusal::Status { status: 503, .. })
        ));
        assert!(verdict(&target(), true, None, not_found).is_err());
        assert_eq!(verdict(&target(), false, None, not_found), Ok(404));
        assert!(verdict(&target(), false, None, unavailable).is_err());
    }

    #[test]
    fn a_crash_or_a_non_http_answer_fails() {
        assert!(matches!(
            verdict(&target(), false, Some("Unhandled"), b"{}"),
            Err(Refusal::FunctionError { .. })
        ));
        assert!(matches!(
            verdict(&target(), false, None, b"null"),
            Err(Refusal::NotHttp { .. })
        ));
    }

    #[test]
    fn the_health_function_is_known_by_name_or_arn() {
        let health = Some("stack-HealthFunction-1A2B");
        assert!(is_health("stack-HealthFunction-1A2B", health));
        assert!(is_health(
            "arn:aws:lambda:eu-west-1:123456789012:function:stack-HealthFunction-1A2B",
            health
        ));
        assert!(!is_health("stack-AuthFunction-9Z", health));
        assert!(!is_health("stack-HealthFunction-1A2B", None));
    }
}
