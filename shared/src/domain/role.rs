// Numbered as the roles table seeds them: 1 user, 2 admin, 3 moderator; answered by
// name, as `as_str` spells it.
/// An account's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
    Moderator,
}

impl Role {
    pub fn from_id(id: i16) -> Option<Self> {
        match id {
            1 => Some(Self::User),
            2 => Some(Self::Admin),
            3 => Some(Self::Moderator),
            _ => None,
        }
    }

    pub fn id(self) -> i16 {
        match self {
            Self::User => 1,
            Self::Admin => 2,
            Self::Moderator => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
            Self::Moderator => "moderator",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for role in [Role::User, Role::Admin, Role::Moderator] {
            assert_eq!(Role::from_id(role.id()), Some(role));
        }
        assert_eq!(Role::from_id(4), None);
    }
}
