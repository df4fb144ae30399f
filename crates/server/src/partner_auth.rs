//! Partners authenticate every request with an HTTP Message Signature (RFC 9421, Ed25519):
//! the signature covers the method, the path and the body's digest, is at most five minutes
//! old, names a key of an enabled partner, and carries a nonce never seen before.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use openforest_client::signature::{RequestParts, SignatureError, Verifier, VerifyingKey};
use openforest_core::PartnerId;
use openforest_store::{Partner, PartnerKey};
use std::collections::HashMap;
use std::sync::Mutex;

/// How far a signature's `created` may be from the server's clock.
pub const SIGNATURE_WINDOW_SECS: u32 = 300;
/// Nonces remembered at most; older ones are dropped first, and a signature older than the
/// window is refused anyway, so nothing replayable is forgotten while it is still valid.
const REPLAY_NONCES_MAX: usize = 2_000_000;

/// Nonces seen within the signature window, per partner. In memory: one server process sees
/// every request of a single-node deployment (see ARCHITECTURE.md for several nodes).
#[derive(Default)]
pub struct ReplayCache {
    seen: Mutex<HashMap<(PartnerId, String), i64>>,
}

impl ReplayCache {
    /// Records a nonce; false when it was already used within the window.
    pub fn first_use(&self, partner_id: PartnerId, nonce: &str, now_unix: i64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.len() >= REPLAY_NONCES_MAX {
            let window = i64::from(SIGNATURE_WINDOW_SECS);
            seen.retain(|_, expires| *expires > now_unix);
            if seen.len() >= REPLAY_NONCES_MAX {
                seen.retain(|_, expires| *expires > now_unix + window / 2);
            }
        }
        let expires = now_unix + 2 * i64::from(SIGNATURE_WINDOW_SECS);
        match seen.entry((partner_id, nonce.to_string())) {
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                if *entry.get() > now_unix {
                    return false;
                }
                entry.insert(expires);
                true
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(expires);
                true
            }
        }
    }
}

type KeyedLimiter = governor::RateLimiter<
    PartnerId,
    governor::state::keyed::DashMapStateStore<PartnerId>,
    governor::clock::DefaultClock,
>;

/// Per-partner request budgets (a token bucket each): a partner that floods gets 429 with
/// Retry-After and does not slow the others.
pub struct PartnerRateLimits(KeyedLimiter);

impl PartnerRateLimits {
    pub fn new(requests_per_second: u32, burst: u32) -> PartnerRateLimits {
        let rate = std::num::NonZeroU32::new(requests_per_second.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let burst = std::num::NonZeroU32::new(burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        PartnerRateLimits(governor::RateLimiter::keyed(
            governor::Quota::per_second(rate).allow_burst(burst),
        ))
    }

    pub fn check(&self, partner_id: PartnerId) -> Result<(), ApiError> {
        use governor::clock::Clock as _;
        self.0.check_key(&partner_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// Partner keys by key id, with their partner and parsed public key, so a signed request
/// costs no database read. Every admin change to partners or keys clears it, so a revoked key
/// or a disabled partner is refused from the next request on (per server process).
#[derive(Default)]
pub struct PartnerKeyCache {
    keys: std::sync::RwLock<HashMap<String, CachedKey>>,
}

/// A key, its partner and the parsed public key.
type CachedKey = std::sync::Arc<(PartnerKey, Partner, VerifyingKey)>;

impl PartnerKeyCache {
    fn get(&self, key_id: &str) -> Option<CachedKey> {
        self.keys.read().ok()?.get(key_id).cloned()
    }

    fn put(
        &self,
        entry: (PartnerKey, Partner, VerifyingKey),
    ) -> std::sync::Arc<(PartnerKey, Partner, VerifyingKey)> {
        let entry = std::sync::Arc::new(entry);
        if let Ok(mut keys) = self.keys.write() {
            // Bounded by the keys admins registered; known keys only, never attacker input.
            keys.insert(entry.0.key_id.clone(), entry.clone());
        }
        entry
    }

    pub fn clear(&self) {
        if let Ok(mut keys) = self.keys.write() {
            keys.clear();
        }
    }
}

/// A request whose signature verified: the partner, and the raw body it signed.
pub struct SignedPartner {
    pub partner: Partner,
    pub body: Bytes,
}

fn signature_problem(err: &SignatureError) -> ApiError {
    ApiError::SignatureRejected {
        detail: err.to_string(),
        field: err.header().map(str::to_string),
    }
}

impl FromRequest<AppState> for SignedPartner {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let limit_bytes = state.config.http.body_limit_bytes;
        let body = axum::body::to_bytes(body, limit_bytes)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit_bytes })?;
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|path| path.as_str())
            .unwrap_or("/");
        let request = RequestParts {
            method: parts.method.as_str(),
            path_and_query,
            body: &body,
        };
        let now_unix = state.clock.now().millis().div_euclid(1_000);
        let pending = Verifier::new(SIGNATURE_WINDOW_SECS)
            .check(&request, &parts.headers, now_unix)
            .map_err(|err| signature_problem(&err))?;
        let unknown = || {
            signature_problem(&SignatureError::UnknownKeyId {
                key_id: pending.key_id().as_str().to_string(),
            })
        };
        let entry = match state.partner_keys.get(pending.key_id().as_str()) {
            Some(entry) => entry,
            None => {
                let (key, partner) = state
                    .store
                    .partner_key(pending.key_id().as_str())
                    .await?
                    .ok_or_else(unknown)?;
                let verifying_key = VerifyingKey::from_base64(&key.public_key).map_err(|err| {
                    ApiError::Internal(format!("stored key {}: {err}", key.key_id))
                })?;
                state.partner_keys.put((key, partner, verifying_key))
            }
        };
        let (key, partner, verifying_key) = entry.as_ref();
        if key.revoked_at.is_some() {
            return Err(unknown());
        }
        if partner.disabled_at.is_some() {
            return Err(ApiError::Forbidden("this partner is disabled"));
        }
        let verified = pending
            .verify_with(verifying_key)
            .map_err(|err| signature_problem(&err))?;
        state.rate_limits.check(partner.partner_id)?;
        if !state
            .replay
            .first_use(partner.partner_id, verified.nonce.as_str(), now_unix)
        {
            return Err(ApiError::SignatureRejected {
                detail: "this signature's nonce was already used: a replayed request".into(),
                field: Some("signature-input".into()),
            });
        }
        Ok(SignedPartner {
            partner: partner.clone(),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_within_the_window() {
        let cache = ReplayCache::default();
        let partner = PartnerId(uuid::Uuid::from_u128(1));
        assert!(cache.first_use(partner, "n1", 1_000));
        assert!(!cache.first_use(partner, "n1", 1_100));
        assert!(cache.first_use(PartnerId(uuid::Uuid::from_u128(2)), "n1", 1_100));
        assert!(
            cache.first_use(partner, "n1", 1_000 + 601),
            "forgotten once no signature could still carry it"
        );
    }
}
