//! The web app: server-rendered pages (askama templates under `templates/`), our own CSS and
//! JavaScript embedded from `static/`, translations (Fluent files under `locales/`), cookie
//! sessions with CSRF tokens, and the security headers every page is sent with. Not part of
//! the OpenAPI document: the JSON API under `/v1` stays the programmatic interface.

mod admin;
mod album;
mod assets;
mod certificates;
mod charts;
mod context;
mod csrf;
mod feed;
mod forest;
mod friends;
pub mod i18n;
mod impact;
pub mod map;
mod ngo;
mod plant;
mod props;
mod rankings;
mod session;
mod social;
mod verify;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

pub use context::PageError;

/// The Content-Security-Policy of every page: nothing inline, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The pages and static assets, with the security headers layer.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(forest::page))
        .route("/balls/collect", post(forest::collect_all))
        .route("/balls/{ball_id}/collect", post(forest::collect))
        .route("/signin", get(session::signin_page).post(session::signin))
        .route("/signup", get(session::signup_page).post(session::signup))
        .route("/signout", post(session::signout))
        .route("/language", post(session::language))
        .route("/impact", get(impact::page))
        .merge(admin::router())
        .route("/static/{file}", get(assets::serve))
        .route("/plant", get(plant::page).post(plant::plant))
        .route("/plant/groups", post(plant::create))
        .route("/plant/groups/join", post(plant::join))
        .route("/plant/groups/{group_id}/invite", post(plant::invite))
        .route("/plant/groups/{group_id}/pot", post(plant::feed))
        .route(
            "/plant/groups/{group_id}/plant",
            post(plant::plant_from_pot),
        )
        .route("/plant/groups/{group_id}/leave", post(plant::leave))
        .route("/certificates", get(certificates::list))
        .route("/certificates/{number}", get(certificates::detail))
        .route("/verify", get(verify::page))
        .route("/verify/{number}", get(verify::result))
        .route("/ngo", get(ngo::page))
        .route("/ngo/orders/{order_id}", get(ngo::order))
        // The photo's size is checked while the form is read (`planting.photo_bytes_max`).
        .route(
            "/ngo/orders/{order_id}/batches",
            post(ngo::record).layer(DefaultBodyLimit::disable()),
        )
        .route("/ngo/batches/{batch_id}/verify", post(ngo::verify))
        .route("/friends", get(friends::page).post(friends::invite))
        .route("/friends/{handle}", get(friends::forest))
        .route("/friends/{handle}/accept", post(friends::accept))
        .route("/friends/{handle}/decline", post(friends::decline))
        .route("/friends/{handle}/remove", post(friends::remove))
        .route("/friends/{handle}/block", post(friends::block))
        .route("/friends/{handle}/water", post(friends::water))
        .route(
            "/friends/{handle}/balls/{ball_id}/steal",
            post(friends::steal),
        )
        .route(
            "/friends/{handle}/balls/{ball_id}/help",
            post(friends::help),
        )
        .route("/feed", get(feed::page))
        .route("/rankings", get(rankings::page))
        .route("/props", get(props::page))
        .route("/props/{kind}/use", post(props::use_one))
        .route("/props/{kind}/gift", post(props::gift))
        .route("/album", get(album::page))
        .route("/album/draw", post(album::draw))
        .route("/album/cards/{species_id}/gift", post(album::gift))
        .layer(middleware::from_fn(security_headers))
}

/// Security headers for pages and assets. Pages are per-user, so they are never cached;
/// assets set their own long cache lifetime.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
