//! Amazing Species over HTTP: the public catalog, card art, odds and sets; my album with
//! progress per set and the daily draw; gifting a duplicate to a friend; and support's view of
//! a user's logged draws, each replayable from its seed.

use crate::auth::{CurrentAdmin, CurrentUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::rfc3339;
use crate::species::{Award, CardReason};
use crate::species_art::card_svg;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use openforest_core::UserId;
use openforest_core::harvest::COLLECTED_USAGE_ACTION;
use openforest_core::methodology::day_key;
use openforest_core::species::{SetKind, Species, SpeciesSet};
use openforest_store::{CardGift, SetRewardGiven, SpeciesDraw};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const DRAWS_LIMIT_MAX: u32 = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct SpeciesView {
    pub species_id: String,
    pub common_name: String,
    pub scientific_name: String,
    /// IUCN Red List category as bundled: CR, EN, VU, NT or LC.
    pub category: String,
    pub category_title: String,
    pub habitat: String,
    pub region: String,
    pub range: String,
    /// The silhouette on the card: mammal, aquatic_mammal, bird, reptile, amphibian, fish,
    /// insect, coral, tree or plant.
    pub group: String,
    pub fact: String,
    /// The card's art, an SVG drawn from this data.
    pub card_url: String,
    /// The chance that one draw gives this card.
    pub draw_probability: f64,
}

fn species_view(state: &AppState, species: &Species) -> SpeciesView {
    SpeciesView {
        species_id: species.id.to_string(),
        common_name: species.common_name.clone(),
        scientific_name: species.scientific_name.clone(),
        category: species.category.code().to_string(),
        category_title: species.category.title().to_string(),
        habitat: species.habitat.to_string(),
        region: species.region.to_string(),
        range: species.range.clone(),
        group: species.group.to_string(),
        fact: species.fact.clone(),
        card_url: format!("/v1/species/{}/card.svg", species.id),
        draw_probability: state.species.odds().card_probability(species.category),
    }
}

fn find<'a>(state: &'a AppState, species_id: &str) -> ApiResult<&'a Species> {
    state
        .species
        .catalog()
        .get(species_id)
        .ok_or(ApiError::NotFound("species"))
}

/// Every species in the catalog, by id.
#[utoipa::path(get, path = "/v1/species", tag = "species",
    responses((status = 200, body = Vec<SpeciesView>)))]
pub async fn list(State(state): State<AppState>) -> Json<Vec<SpeciesView>> {
    Json(
        state
            .species
            .catalog()
            .species()
            .map(|species| species_view(&state, species))
            .collect(),
    )
}

/// One species.
#[utoipa::path(get, path = "/v1/species/{species_id}", tag = "species",
    params(("species_id" = String, Path, description = "e.g. whale-shark")),
    responses((status = 200, body = SpeciesView),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn detail(
    State(state): State<AppState>,
    ApiPath(species_id): ApiPath<String>,
) -> ApiResult<Json<SpeciesView>> {
    Ok(Json(species_view(&state, find(&state, &species_id)?)))
}

/// The card of a species as SVG, drawn from its data (silhouette by group, colour by habitat).
#[utoipa::path(get, path = "/v1/species/{species_id}/card.svg", tag = "species",
    params(("species_id" = String, Path)),
    responses((status = 200, description = "the card", content_type = "image/svg+xml", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn card(
    State(state): State<AppState>,
    ApiPath(species_id): ApiPath<String>,
) -> ApiResult<Response> {
    let species = find(&state, &species_id)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        card_svg(species),
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOddsView {
    pub category: String,
    pub title: String,
    /// The configured relative weight.
    pub weight: u32,
    /// The chance that one draw gives a card of this category.
    pub probability: f64,
    /// Species of this category in the catalog.
    pub species: usize,
    /// The chance that one draw gives one particular card of this category.
    pub card_probability: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OddsView {
    /// Rarest first. Categories without species are left out: they cannot be drawn.
    pub categories: Vec<CategoryOddsView>,
    /// Grams to collect in a local day before the daily draw opens.
    pub daily_draw_grams: u64,
    /// A fingerprint of the catalog and weights: each draw logs the one it was made from.
    pub pool: String,
    pub how_draws_work: String,
}

/// The published odds of a draw, per Red List category: what the album page shows.
#[utoipa::path(get, path = "/v1/species/odds", tag = "species",
    responses((status = 200, body = OddsView)))]
pub async fn odds(State(state): State<AppState>) -> Json<OddsView> {
    let table = state.species.odds();
    Json(OddsView {
        categories: table
            .entries()
            .iter()
            .map(|entry| CategoryOddsView {
                category: entry.category.code().to_string(),
                title: entry.category.title().to_string(),
                weight: entry.weight,
                probability: table.probability(entry.category),
                species: entry.species.len(),
                card_probability: table.card_probability(entry.category),
            })
            .collect(),
        daily_draw_grams: state.species.settings().daily_draw_grams,
        pool: state.species.pool().to_string(),
        how_draws_work: "A draw picks a category by weight, then one of its species with equal \
            chance. Each draw is decided by a seed logged with it, so any card can be explained."
            .into(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SetRewardView {
    /// A prop kind: shield, double_collect or steal_multiplier.
    pub prop: String,
    pub count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SetView {
    pub set_id: String,
    /// `themed` (from a data file), `habitat` or `region` (made from the catalog).
    pub kind: String,
    pub name: String,
    pub description: String,
    pub species: Vec<String>,
    pub reward: SetRewardView,
}

fn kind_word(kind: SetKind) -> &'static str {
    match kind {
        SetKind::Habitat => "habitat",
        SetKind::Region => "region",
        SetKind::Themed => "themed",
    }
}

fn reward_of(state: &AppState, set: &SpeciesSet) -> SetRewardView {
    match &set.reward {
        Some(reward) => SetRewardView {
            prop: reward.prop.clone(),
            count: reward.count,
        },
        None => SetRewardView {
            prop: state.species.settings().set_reward_prop.clone(),
            count: state.species.settings().set_reward_count,
        },
    }
}

/// Every set: themed sets first, then one per habitat and one per region.
#[utoipa::path(get, path = "/v1/species/sets", tag = "species",
    responses((status = 200, body = Vec<SetView>)))]
pub async fn sets(State(state): State<AppState>) -> Json<Vec<SetView>> {
    Json(
        state
            .species
            .catalog()
            .sets()
            .iter()
            .map(|set| SetView {
                set_id: set.id.to_string(),
                kind: kind_word(set.kind).to_string(),
                name: set.name.clone(),
                description: set.description.clone(),
                species: set.species.iter().map(ToString::to_string).collect(),
                reward: reward_of(&state, set),
            })
            .collect(),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlbumCardView {
    pub species_id: String,
    /// Empty when the operator's catalog no longer has this species.
    pub common_name: String,
    pub category: Option<String>,
    pub count: u32,
    /// Copies beyond the first: these can be gifted.
    pub duplicates: u32,
    pub first_at: String,
    pub card_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SetProgressView {
    pub set_id: String,
    pub kind: String,
    pub name: String,
    /// Species of the set I hold a card of.
    pub owned: usize,
    pub total: usize,
    pub complete: bool,
    pub reward: SetRewardView,
    /// When the reward was given; none before the set is complete.
    pub rewarded_at: Option<String>,
    /// The set's species I still need.
    pub missing: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DailyDrawView {
    pub threshold_grams: u64,
    pub collected_today_grams: u64,
    /// Whether a draw can be made now.
    pub available: bool,
    /// Today's card, once drawn.
    pub drawn_species_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlbumView {
    pub cards: Vec<AlbumCardView>,
    /// Distinct species I hold, of `species_total`.
    pub species_collected: usize,
    pub species_total: usize,
    pub sets: Vec<SetProgressView>,
    pub daily_draw: DailyDrawView,
}

fn today(state: &AppState) -> String {
    day_key(state.clock.now(), state.energy.current().timezone)
        .as_str()
        .to_string()
}

async fn collected_today(state: &AppState, user: UserId, day: &str) -> ApiResult<u64> {
    let totals = state
        .store
        .usage_totals(&[user], COLLECTED_USAGE_ACTION, &[day.to_string()])
        .await?;
    Ok(totals.get(&user).map_or(0, |grams| grams.get()))
}

/// My album: cards with counts, every set with my progress, and today's draw.
#[utoipa::path(get, path = "/v1/me/album", tag = "species", security(("session" = [])),
    responses((status = 200, body = AlbumView)))]
pub async fn album(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<AlbumView>> {
    Ok(Json(my_album(&state, me.user_id).await?))
}

/// `me`'s album (the API and the web's album page).
pub(crate) async fn my_album(state: &AppState, me: UserId) -> ApiResult<AlbumView> {
    let day = today(state);
    let reason = CardReason::DailyDraw { day: day.clone() }.key();
    let (cards, rewards, drawn) = futures_util::try_join!(
        state.store.species_cards(me),
        state.store.species_set_rewards(me),
        state.store.species_draw(me, &reason),
    )?;
    let collected = collected_today(state, me, &day).await?;
    let catalog = state.species.catalog();
    let counts: HashMap<&str, u32> = cards
        .iter()
        .map(|card| (card.species_id.as_str(), card.count))
        .collect();
    let rewarded: HashMap<&str, &SetRewardGiven> = rewards
        .iter()
        .map(|reward| (reward.set_id.as_str(), reward))
        .collect();
    let sets = catalog
        .sets()
        .iter()
        .map(|set| {
            let missing: Vec<String> = set
                .species
                .iter()
                .filter(|id| !counts.contains_key(id.as_str()))
                .map(ToString::to_string)
                .collect();
            SetProgressView {
                set_id: set.id.to_string(),
                kind: kind_word(set.kind).to_string(),
                name: set.name.clone(),
                owned: set.species.len() - missing.len(),
                total: set.species.len(),
                complete: missing.is_empty(),
                reward: reward_of(state, set),
                rewarded_at: rewarded
                    .get(set.id.as_str())
                    .map(|reward| rfc3339(reward.at)),
                missing,
            }
        })
        .collect();
    let threshold = state.species.settings().daily_draw_grams;
    Ok(AlbumView {
        species_collected: cards
            .iter()
            .filter(|card| catalog.get(&card.species_id).is_some())
            .count(),
        species_total: catalog.len(),
        cards: cards
            .iter()
            .map(|card| {
                let species = catalog.get(&card.species_id);
                AlbumCardView {
                    species_id: card.species_id.clone(),
                    common_name: species.map(|s| s.common_name.clone()).unwrap_or_default(),
                    category: species.map(|s| s.category.code().to_string()),
                    count: card.count,
                    duplicates: card.count.saturating_sub(1),
                    first_at: rfc3339(card.first_at),
                    card_url: format!("/v1/species/{}/card.svg", card.species_id),
                }
            })
            .collect(),
        sets,
        daily_draw: DailyDrawView {
            threshold_grams: threshold,
            collected_today_grams: collected,
            available: drawn.is_none() && collected >= threshold,
            drawn_species_id: drawn.map(|draw| draw.species_id),
        },
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AwardView {
    /// Why the card came: `daily:<day>`, `planting:<pledge>` or `task:<task>:<period>`.
    pub reason: String,
    pub species: SpeciesView,
    /// Cards of this species I hold now.
    pub count: u32,
    /// Sets this card completed, with the reward given for each.
    pub completed_sets: Vec<CompletedSetView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompletedSetView {
    pub set_id: String,
    pub reward: SetRewardView,
}

async fn award_view(state: &AppState, award: Award) -> ApiResult<AwardView> {
    let species = find(state, &award.draw.species_id)?;
    let count = state
        .store
        .species_cards(award.draw.user_id)
        .await?
        .into_iter()
        .find(|card| card.species_id == award.draw.species_id)
        .map_or(0, |card| card.count);
    Ok(AwardView {
        reason: award.draw.reason.clone(),
        species: species_view(state, species),
        count,
        completed_sets: award
            .completed_sets
            .into_iter()
            .map(|reward| CompletedSetView {
                set_id: reward.set_id,
                reward: SetRewardView {
                    prop: reward.prop,
                    count: reward.count,
                },
            })
            .collect(),
    })
}

/// Today's draw: one card a local day, once I have collected the threshold (20 g) today.
#[utoipa::path(post, path = "/v1/me/album/draw", tag = "species", security(("session" = [])),
    responses((status = 201, body = AwardView),
        (status = 409, description = "not yet (`rule`: draw_threshold) or done today (`rule`: already_drawn)",
            body = Problem, content_type = "application/problem+json")))]
pub async fn daily_draw(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<(StatusCode, Json<AwardView>)> {
    Ok((
        StatusCode::CREATED,
        Json(draw_daily_card(&state, me.user_id).await?),
    ))
}

/// `me`'s daily draw (the API and the web's album page).
pub(crate) async fn draw_daily_card(state: &AppState, me: UserId) -> ApiResult<AwardView> {
    let day = today(state);
    let threshold = state.species.settings().daily_draw_grams;
    let collected = collected_today(state, me, &day).await?;
    if collected < threshold {
        return Err(ApiError::GameRule {
            rule: "draw_threshold",
            detail: format!(
                "collect {threshold} g today to open the daily draw; you have collected {collected} g"
            ),
        });
    }
    let award = crate::species::award_card(state, me, CardReason::DailyDraw { day }).await?;
    if !award.new {
        let name = state
            .species
            .catalog()
            .get(&award.draw.species_id)
            .map_or(award.draw.species_id.clone(), |s| s.common_name.clone());
        return Err(ApiError::GameRule {
            rule: "already_drawn",
            detail: format!("you drew {name} today; the next draw opens tomorrow"),
        });
    }
    award_view(state, award).await
}

/// Gives one of my duplicate cards to a friend; both our feeds say so. My last copy stays.
#[utoipa::path(post, path = "/v1/friends/{user_id}/cards/{species_id}/gift", tag = "species",
    params(("user_id" = Uuid, Path, description = "the friend"), ("species_id" = String, Path)),
    security(("session" = [])),
    responses((status = 204, description = "given"),
        (status = 403, description = "not a friend", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such species", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no such card (`rule`: no_card) or only one (`rule`: last_copy)",
            body = Problem, content_type = "application/problem+json")))]
pub async fn gift(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath((friend, species_id)): ApiPath<(Uuid, String)>,
) -> ApiResult<StatusCode> {
    gift_card(&state, me.user_id, UserId(friend), &species_id).await
}

/// Gives one of `me`'s duplicate cards to a friend (the API and the web's album page).
pub(crate) async fn gift_card(
    state: &AppState,
    me: UserId,
    friend: UserId,
    species_id: &str,
) -> ApiResult<StatusCode> {
    let species = find(state, species_id)?;
    if friend == me || !state.store.are_friends(me, friend).await? {
        return Err(ApiError::Forbidden("cards are gifted to friends"));
    }
    let now = state.clock.now();
    match state
        .store
        .gift_species_card(me, friend, species.id.as_str(), now)
        .await?
    {
        CardGift::Given => {
            state
                .species
                .reward_completed_sets(state.store.as_ref(), friend, now)
                .await?;
            Ok(StatusCode::NO_CONTENT)
        }
        CardGift::NotOwned => Err(ApiError::GameRule {
            rule: "no_card",
            detail: format!("you have no {} card", species.common_name),
        }),
        CardGift::LastCopy => Err(ApiError::GameRule {
            rule: "last_copy",
            detail: format!(
                "you have one {} card: only duplicates can be gifted",
                species.common_name
            ),
        }),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrawLogView {
    pub draw_id: Uuid,
    pub reason: String,
    /// The 32-byte seed that decided the draw, in hex.
    pub seed: String,
    pub species_id: String,
    /// The fingerprint of the catalog and odds it was drawn from.
    pub pool: String,
    pub at: String,
}

fn log_view(draw: &SpeciesDraw) -> DrawLogView {
    DrawLogView {
        draw_id: draw.draw_id,
        reason: draw.reason.clone(),
        seed: openforest_core::species::DrawSeed(draw.seed).hex(),
        species_id: draw.species_id.clone(),
        pool: draw.pool.clone(),
        at: rfc3339(draw.at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DrawsQuery {
    /// 1 to 500; 100 by default.
    pub limit: Option<u32>,
}

/// A user's draws with their seeds, newest first (support).
#[utoipa::path(get, path = "/v1/admin/users/{user_id}/species-draws", tag = "admin",
    params(("user_id" = Uuid, Path), DrawsQuery), security(("session" = [])),
    responses((status = 200, body = Vec<DrawLogView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn draws(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<DrawsQuery>,
) -> ApiResult<Json<Vec<DrawLogView>>> {
    let limit = crate::extract::page_limit(query.limit, 100, DRAWS_LIMIT_MAX)?;
    let draws = state.store.species_draws(UserId(user_id), limit).await?;
    Ok(Json(draws.iter().map(log_view).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReplayQuery {
    /// The draw's reason, as logged (`daily:2025-06-01`).
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayView {
    pub draw: DrawLogView,
    /// The card the logged seed draws from today's catalog and odds.
    pub replayed_species_id: Option<String>,
    /// The replay gives the card the user got.
    pub same_card: bool,
    /// The logged seed is the one the server secret derives for this user and reason: the
    /// draw was not chosen by hand.
    pub seed_verified: bool,
    /// The catalog and odds are those the draw was made from (if not, a different card on
    /// replay is explained by the change).
    pub same_pool: bool,
}

/// Replays a user's logged draw from its seed, to explain the card they got (support).
#[utoipa::path(get, path = "/v1/admin/users/{user_id}/species-draws/replay", tag = "admin",
    params(("user_id" = Uuid, Path), ReplayQuery), security(("session" = [])),
    responses((status = 200, body = ReplayView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such draw", body = Problem, content_type = "application/problem+json")))]
pub async fn replay(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ReplayQuery>,
) -> ApiResult<Json<ReplayView>> {
    let logged = state
        .store
        .species_draw(UserId(user_id), &query.reason)
        .await?
        .ok_or(ApiError::NotFound("draw"))?;
    let replay = state.species.replay(&logged);
    Ok(Json(ReplayView {
        same_card: replay.species_id.as_deref() == Some(logged.species_id.as_str()),
        replayed_species_id: replay.species_id,
        seed_verified: replay.seed_matches,
        same_pool: replay.same_pool,
        draw: log_view(&logged),
    }))
}
