//! Who is calling: session tokens for users and admins, operator keys for an operator's
//! backend. Tokens are random, shown once, and stored only as SHA-256 hashes.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openforest_core::Role;
use openforest_core::Timestamp;
use openforest_store::{OperatorKey, User};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A secret shown to its owner once. `Debug` masks it so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh random token with a readable prefix (`ofs_` session, `ofk_` operator key).
    pub fn generate(prefix: &str) -> Secret {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Secret(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn sha256(&self) -> [u8; 32] {
        hash_token(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The signed-in user behind `Authorization: Bearer <session token>`.
pub struct CurrentUser(pub User);

/// Recently seen sessions, so the 7 a.m. rush does not read the sessions table on every tap.
/// An entry lives `SESSION_CACHE_MS`; logging out here removes it at once. A session revoked
/// or expired through another server process is honoured within that time.
#[derive(Default)]
pub struct SessionCache {
    /// Per token hash: the user, when the entry was cached, and when the session expires.
    entries: std::sync::RwLock<std::collections::HashMap<[u8; 32], CachedSession>>,
}

type CachedSession = (User, Timestamp, Timestamp);

const SESSION_CACHE_MS: i64 = 30_000;
const SESSION_CACHE_MAX: usize = 200_000;

impl SessionCache {
    fn get(&self, token_hash: &[u8; 32], now: Timestamp) -> Option<User> {
        let entries = self.entries.read().ok()?;
        let (user, seen, expires_at) = entries.get(token_hash)?;
        let fresh = now >= *seen && now.millis() - seen.millis() < SESSION_CACHE_MS;
        (fresh && now < *expires_at).then(|| user.clone())
    }

    fn put(&self, token_hash: [u8; 32], user: User, now: Timestamp, expires_at: Timestamp) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= SESSION_CACHE_MAX {
                entries.clear();
            }
            entries.insert(token_hash, (user, now, expires_at));
        }
    }

    pub fn forget(&self, token_hash: &[u8; 32]) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(token_hash);
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized(
            "sign in: send Authorization: Bearer <session token>",
        ))?;
        user_for_session(state, token)
            .await?
            .map(CurrentUser)
            .ok_or(ApiError::Unauthorized(
                "the session token is unknown or expired",
            ))
    }
}

/// The user a session token belongs to, through the cache; `None` when the token is unknown
/// or expired. Shared by the API's bearer tokens and the web pages' session cookie.
pub async fn user_for_session(state: &AppState, token: &str) -> Result<Option<User>, ApiError> {
    let token_hash = hash_token(token);
    let now = state.clock.now();
    if let Some(user) = state.sessions.get(&token_hash, now) {
        return Ok(Some(user));
    }
    let Some((user, expires_at)) = state.store.session_user(token_hash, now).await? else {
        return Ok(None);
    };
    state
        .sessions
        .put(token_hash, user.clone(), now, expires_at);
    Ok(Some(user))
}

/// Ends a session: forgotten by the cache at once and deleted from the store.
pub async fn end_session(state: &AppState, token: &str) -> Result<(), ApiError> {
    let token_hash = hash_token(token);
    state.sessions.forget(&token_hash);
    state.store.delete_session(token_hash).await?;
    Ok(())
}

/// A signed-in admin.
pub struct CurrentAdmin(pub User);

impl FromRequestParts<AppState> for CurrentAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.role != Role::Admin {
            return Err(ApiError::Forbidden("this needs an admin account"));
        }
        Ok(CurrentAdmin(user))
    }
}

/// An operator's backend, authenticated with an operator key.
pub struct Operator(pub OperatorKey);

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized(
            "send Authorization: Bearer <operator key>",
        ))?;
        let key = state
            .store
            .operator_key(hash_token(token))
            .await?
            .filter(|key| key.revoked_at.is_none())
            .ok_or(ApiError::Unauthorized(
                "the operator key is unknown or revoked",
            ))?;
        Ok(Operator(key))
    }
}

/// Someone acting for an NGO: a portal user (signed in with a session) or the NGO's own
/// system with an NGO API key (`ofn_…`).
pub struct NgoCaller {
    pub ngo_id: openforest_core::NgoId,
    pub actor: NgoActor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NgoActor {
    User(openforest_core::UserId),
    Key(uuid::Uuid),
}

impl NgoActor {
    /// How the actor is recorded on batches: `user:<id>` or `key:<id>`.
    pub fn label(self) -> String {
        match self {
            NgoActor::User(user_id) => format!("user:{user_id}"),
            NgoActor::Key(key_id) => format!("key:{key_id}"),
        }
    }
}

/// The prefix of NGO API keys, which tells them from session tokens.
pub const NGO_KEY_PREFIX: &str = "ofn_";

impl FromRequestParts<AppState> for NgoCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized(
            "send Authorization: Bearer <NGO API key or portal session token>",
        ))?;
        if token.starts_with(NGO_KEY_PREFIX) {
            let key = state
                .store
                .ngo_key(hash_token(token))
                .await?
                .filter(|key| key.revoked_at.is_none())
                .ok_or(ApiError::Unauthorized(
                    "the NGO API key is unknown or revoked",
                ))?;
            return Ok(NgoCaller {
                ngo_id: key.ngo_id,
                actor: NgoActor::Key(key.key_id),
            });
        }
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let ngo_id = state
            .store
            .ngo_of_member(user.user_id)
            .await?
            .ok_or(ApiError::Forbidden(
                "this account does not sign in for an NGO",
            ))?;
        Ok(NgoCaller {
            ngo_id,
            actor: NgoActor::User(user.user_id),
        })
    }
}

/// Argon2id with the crate's recommended parameters, off the async threads (it is slow on
/// purpose).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| ApiError::Internal(format!("password hashing: {err}")))
    })
    .await
    .map_err(|err| ApiError::Internal(err.to_string()))?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash)
            .map(|parsed| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}
