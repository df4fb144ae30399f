//! Who people are: handles and roles.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// A public handle: 3 to 32 characters of `a-z`, `0-9`, `_`, `.` and `-`, kept lower-case so
/// `Ana` and `ana` are one person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Handle(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("a handle is 3 to 32 characters of a-z, 0-9, '_', '.' and '-'")]
pub struct InvalidHandle;

impl Handle {
    pub fn parse(raw: &str) -> Result<Handle, InvalidHandle> {
        let handle = raw.trim().to_lowercase();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
        if (3..=32).contains(&handle.len()) && handle.chars().all(allowed) {
            Ok(Handle(handle))
        } else {
            Err(InvalidHandle)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Handle {
    type Error = InvalidHandle;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Handle::parse(&raw)
    }
}

impl From<Handle> for String {
    fn from(handle: Handle) -> String {
        handle.0
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_case_insensitive_and_restricted() {
        assert_eq!(Handle::parse("Ana_01").unwrap().as_str(), "ana_01");
        for bad in ["ab", "a b c", "ñandú", &"x".repeat(33), "<script>"] {
            assert_eq!(Handle::parse(bad), Err(InvalidHandle), "{bad}");
        }
    }
}
