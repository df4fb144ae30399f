//! CSRF tokens for every state-changing form: an HMAC, under a server key, of what the browser
//! is bound to — its session when signed in, else a random `of_csrf` cookie. A cross-site page
//! can neither read the token nor compute it, and one minted for another browser's binding
//! (say, an attacker's own visit) does not fit this one's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie that binds anonymous forms (sign-in, sign-up, the language switch).
pub const CSRF_COOKIE: &str = "of_csrf";

/// What a token is bound to.
pub enum Binding<'a> {
    Session(&'a str),
    Anonymous(&'a str),
}

/// `None` cannot happen (HMAC takes keys of any length); it makes an empty token that never
/// verifies rather than a panic.
fn mac(key: &[u8], binding: &Binding<'_>) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    match binding {
        Binding::Session(token) => {
            mac.update(b"session\0");
            mac.update(token.as_bytes());
        }
        Binding::Anonymous(cookie) => {
            mac.update(b"anonymous\0");
            mac.update(cookie.as_bytes());
        }
    }
    Some(mac)
}

/// The token forms carry for `binding`.
pub fn token(key: &[u8], binding: &Binding<'_>) -> String {
    mac(key, binding)
        .map(|mac| URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Whether `presented` is the token for `binding` (compared in constant time).
pub fn verify(key: &[u8], binding: &Binding<'_>, presented: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
        return false;
    };
    mac(key, binding).is_some_and(|mac| mac.verify_slice(&bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_fits_only_its_own_binding() {
        let key = b"key";
        let mine = token(key, &Binding::Session("ofs_a"));
        assert!(verify(key, &Binding::Session("ofs_a"), &mine));
        assert!(!verify(key, &Binding::Session("ofs_b"), &mine));
        assert!(!verify(key, &Binding::Anonymous("ofs_a"), &mine));
        assert!(!verify(b"other key", &Binding::Session("ofs_a"), &mine));
        assert!(!verify(key, &Binding::Session("ofs_a"), "not base64 !"));
        assert!(!verify(key, &Binding::Session("ofs_a"), ""));
    }
}
