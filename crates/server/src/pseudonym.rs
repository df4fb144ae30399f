//! Pairwise pseudonymous user ids: each partner knows a user by an id of its own, an HMAC of
//! the (partner, user) pair under a server secret, so partners cannot correlate users across
//! partners and never see the internal id.

use hmac::{Hmac, Mac};
use openforest_core::{PartnerId, UserId};
use sha2::Sha256;

pub fn partner_user_id(secret: &[u8], partner_id: PartnerId, user_id: UserId) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(b"openforest partner user id v1");
    mac.update(partner_id.uuid().as_bytes());
    mac.update(user_id.uuid().as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("pu_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn two_partners_see_one_user_under_different_ids() {
        let user = UserId(Uuid::from_u128(7));
        let metro = partner_user_id(b"secret", PartnerId(Uuid::from_u128(1)), user);
        let bikes = partner_user_id(b"secret", PartnerId(Uuid::from_u128(2)), user);
        assert_ne!(metro, bikes);
        assert_eq!(
            metro,
            partner_user_id(b"secret", PartnerId(Uuid::from_u128(1)), user)
        );
        assert!(
            !metro.contains(&user.to_string())
                && !metro.contains(&user.uuid().simple().to_string())
        );
        assert_eq!(metro.len(), 35);
    }
}
