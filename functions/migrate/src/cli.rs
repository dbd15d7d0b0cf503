//! The command line: no arguments migrates; `create-account --role admin|moderator
//! --username NAME --email EMAIL` creates a privileged account.

use crate::create_account;

pub const USAGE: &str = "usage: migrate                       apply the migrations
       migrate create-account --role admin|moderator --username NAME --email EMAIL
                                     create a privileged account with a generated
                                     password; prints {account, password} once";

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Migrate,
    CreateAccount(create_account::Request),
}

/// `args` without the program name. Flags take `--flag value` or `--flag=value`.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Migrate);
    };
    if command != "create-account" {
        return Err(format!("unknown command {command:?}"));
    }
    let (mut role, mut username, mut email) = (None, None, None);
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let slot = match flag {
            "--role" => &mut role,
            "--username" => &mut username,
            "--email" => &mut email,
            other => return Err(format!("unknown option {other:?}")),
        };
        let value = match inline {
            Some(value) => value,
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))?,
        };
        if slot.replace(value).is_some() {
            return Err(format!("{flag} given twice"));
        }
    }
    Ok(Command::CreateAccount(create_account::Request {
        role: role.ok_or("--role is required")?,
        username: username.ok_or("--username is required")?,
        email: email.ok_or("--email is required")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn no_arguments_migrates() {
        assert_eq!(parse(&[]), Ok(Command::Migrate));
    }

    #[test]
    fn create_account_takes_three_flags_in_any_form_and_order() {
        let expected = Command::CreateAccount(create_account::Request {
            role: "admin".into(),
            username: "root_admin".into(),
            email: "root@example.com".into(),
        });
        assert_eq!(
            parse(&args(
                "create-account --role admin --username root_admin --email root@example.com"
            )),
            Ok(expected)
        );
        assert!(matches!(
            parse(&args(
                "create-account --email=root@example.com --username=root_admin --role=admin"
            )),
            Ok(Command::CreateAccount(_))
        ));
    }

    #[test]
    fn mistakes_are_errors_not_guesses() {
        for line in [
            "create-acount --role admin",
            "create-account --role admin --username a",
            "create-account --role admin --username a --email e --password p",
            "create-account --role admin --role moderator --username a --email e",
            "create-account --role",
        ] {
            assert!(parse(&args(line)).is_err(), "{line}");
        }
    }
}
