//! The mails' text and HTML bodies, from the templates in `templates/` (compiled in):
//! `<kind>.txt` starts with a `Subject:` line, `<kind>.html` is the content of
//! `layout.html`. Placeholders are `{{name}}`; values are HTML-escaped in the HTML body.

use secrecy::{ExposeSecret, SecretString};
use shared::mail::{Job, Mail};

/// One kind's templates: (text with its subject line, HTML content).
fn templates(mail: &Mail) -> (&'static str, &'static str) {
    match mail {
        Mail::PasswordReset { .. } => (
            include_str!("../templates/password_reset.txt"),
            include_str!("../templates/password_reset.html"),
        ),
        Mail::EmailVerification { .. } => (
            include_str!("../templates/email_verification.txt"),
            include_str!("../templates/email_verification.html"),
        ),
        Mail::EmailChange { .. } => (
            include_str!("../templates/email_change.txt"),
            include_str!("../templates/email_change.html"),
        ),
        Mail::EmailChangeNotice { .. } => (
            include_str!("../templates/email_change_notice.txt"),
            include_str!("../templates/email_change_notice.html"),
        ),
        Mail::Welcome => (
            include_str!("../templates/welcome.txt"),
            include_str!("../templates/welcome.html"),
        ),
    }
}

const LAYOUT: &str = include_str!("../templates/layout.html");

/// A mail ready for SES. Its bodies may hold a link's token: never logged.
pub struct Rendered {
    pub subject: String,
    pub text: SecretString,
    pub html: SecretString,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("the {0} template has no Subject line")]
    NoSubject(&'static str),
    #[error("the {kind} template uses {{{{{name}}}}}, which this mail does not provide")]
    Unfilled { kind: &'static str, name: String },
}

/// `link` is the opened token's link for the kinds that carry one.
pub fn render(job: &Job, link: Option<&SecretString>) -> Result<Rendered, TemplateError> {
    let kind = job.mail.kind();
    let (text, html) = templates(&job.mail);
    let (subject_line, text) = text
        .split_once('\n')
        .ok_or(TemplateError::NoSubject(kind))?;
    let subject = subject_line
        .strip_prefix("Subject: ")
        .ok_or(TemplateError::NoSubject(kind))?
        .trim()
        .to_owned();
    let valid = match &job.mail {
        Mail::PasswordReset { valid_minutes, .. } => plural(*valid_minutes, "minute"),
        Mail::EmailVerification { valid_hours, .. } | Mail::EmailChange { valid_hours, .. } => {
            plural(*valid_hours, "hour")
        }
        Mail::EmailChangeNotice { .. } | Mail::Welcome => String::new(),
    };
    let new_email = match &job.mail {
        Mail::EmailChangeNotice { new_email } => new_email.as_str(),
        _ => "",
    };
    let mut values: Vec<(&str, &str)> = vec![
        ("username", &job.username),
        ("valid", &valid),
        ("new_email", new_email),
        ("subject", &subject),
    ];
    if let Some(link) = link {
        values.push(("link", link.expose_secret()));
    }
    let text = fill(kind, text.trim_start_matches('\n'), &values, false)?;
    let content = fill(kind, html, &values, true)?;
    let html = LAYOUT
        .replace("{{subject}}", &escape(&subject))
        .replace("{{content}}", content.trim_end());
    Ok(Rendered {
        subject,
        text: text.into(),
        html: html.into(),
    })
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Replaces every `{{name}}`; a placeholder with no value is an error, never a blank.
fn fill(
    kind: &'static str,
    template: &str,
    values: &[(&str, &str)],
    html: bool,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unfilled {
            kind,
            name: after.chars().take(20).collect(),
        })?;
        let name = &after[..end];
        let value = values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| TemplateError::Unfilled {
                kind,
                name: name.to_owned(),
            })?;
        if html {
            out.push_str(&escape(value));
        } else {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use shared::{domain::Email, mail::job::Sealed};

    use super::*;

    fn email() -> Email {
        Email::parse("ada@example.com").unwrap_or_else(|e| panic!("{e}"))
    }

    fn sealed() -> Sealed {
        serde_json::from_value(serde_json::json!("c2VhbGVk")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn every_kind() -> Vec<Mail> {
        vec![
            Mail::PasswordReset {
                token: sealed(),
                valid_minutes: 30,
            },
            Mail::EmailVerification {
                token: sealed(),
                valid_hours: 24,
            },
            Mail::EmailChange {
                token: sealed(),
                valid_hours: 1,
            },
            Mail::EmailChangeNotice {
                new_email: "n***@example.org".into(),
            },
            Mail::Welcome,
        ]
    }

    #[test]
    fn every_kind_renders_a_subject_text_and_html_with_nothing_left_unfilled() {
        let link: SecretString = "https://app.example.com/account?api=x&y=1#reset=TOKEN".into();
        for mail in every_kind() {
            let has_link = mail.token().is_some();
            let job = Job::new(&email(), "ada_<b>", mail);
            let rendered = render(&job, has_link.then_some(&link))
                .unwrap_or_else(|e| panic!("{}: {e}", job.mail.kind()));
            let (text, html) = (rendered.text.expose_secret(), rendered.html.expose_secret());
            assert!(!rendered.subject.is_empty());
            assert!(
                !text.contains("{{") && !html.contains("{{"),
                "{}",
                job.mail.kind()
            );
            assert!(text.contains("Hello ada_<b>,"), "{text}");
            assert!(
                html.contains("Hello ada_&lt;b&gt;,"),
                "HTML-escaped: {html}"
            );
            if has_link {
                assert!(text.contains("https://app.example.com/account?api=x&y=1#reset=TOKEN"));
                assert!(html.contains(
                    "href=\"https://app.example.com/account?api=x&amp;y=1#reset=TOKEN\""
                ));
            }
        }
    }

    #[test]
    fn a_link_mail_without_its_link_is_refused() {
        let job = Job::new(
            &email(),
            "ada",
            Mail::PasswordReset {
                token: sealed(),
                valid_minutes: 30,
            },
        );
        assert!(matches!(
            render(&job, None),
            Err(TemplateError::Unfilled { name, .. }) if name == "link"
        ));
    }

    #[test]
    fn validity_reads_as_words() {
        let job = Job::new(
            &email(),
            "ada",
            Mail::PasswordReset {
                token: sealed(),
                valid_minutes: 30,
            },
        );
        let link: SecretString = "https://x.example/#reset=t".into();
        let rendered = render(&job, Some(&link)).unwrap_or_else(|e| panic!("{e}"));
        assert!(rendered.text.expose_secret().contains("within 30 minutes"));
        assert_eq!(rendered.subject, "Reset your Blue Harvest password");
    }
}
