//! The openforest integration suite: one test binary (see `.ci/run`). Each test boots the real
//! server on port 0 against a real database, SQLite and PostgreSQL alike, or runs the built
//! `openforest` binary as a child process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod support;

mod api;
mod bench;
mod harvest;
mod ledger;
mod methodologies;
mod partners;
mod planting;
mod process;
mod scaling;
mod seeding;
mod species;
mod transparency;
mod visitor;
mod web;
mod web_operator;
mod web_planting;
mod web_social;
mod webhooks;
