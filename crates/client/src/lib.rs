//! The openforest partner protocol (RFC 9421 Ed25519 request signatures) and the partners' Rust
//! SDK. The README below is the crate's guide: its Rust examples run as doctests, and its shell
//! walkthrough runs in the test `a_signature_made_by_the_readme_openssl_walkthrough_verifies`.
//!
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod signature;

#[cfg(feature = "partner")]
pub mod partner;
