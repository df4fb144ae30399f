//! The RFC 6962 / RFC 9162 Merkle tree over SHA-256: leaf and node hashing with domain
//! separation, an append-only in-memory tree that proves inclusion and consistency for any
//! tree size it has reached, and the offline verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2).
//!
//! The tree can forget the inside of its complete chunks of [`CHUNK_LEAVES`] leaves once
//! storage holds them ([`Tree::prune_below`]): it then keeps about two hashes per chunk instead
//! of two per leaf (a log of 12 million leaves in under a megabyte instead of 800 MB), and a
//! proof that reaches inside a forgotten chunk asks for its leaves back
//! ([`ProofError::ChunkPruned`], [`Tree::restore_chunk`]), which are checked against the
//! chunk's hash the tree kept.
//!
//! Why not the `ct-merkle` crate: its tree proves only against its current size (no proof for
//! the size of an older signed head), rebuilds only from leaf values (not stored leaf hashes),
//! and 0.3 pulls a second `sha2`/`digest` generation into the build.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// The level of a chunk's hash: chunks are the aligned subtrees of 2^10 leaves.
pub const CHUNK_LEVEL: usize = 10;
/// Leaves in a chunk, the unit in which a pruned tree forgets and reads back its leaves.
pub const CHUNK_LEAVES: u64 = 1 << CHUNK_LEVEL;

/// A SHA-256 output: a leaf hash, a node hash or a root. Written as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn to_hex(&self) -> String {
        hex_of(&self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Option<Hash> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Some(Hash(out))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// Lowercase hex of any bytes.
pub fn hex_of(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The root of the empty tree: SHA-256 of nothing (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// `SHA-256(0x00 ‖ data)`: the hash of a leaf whose data is `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// The largest power of two strictly below `n` (`n` ≥ 2), where RFC 6962 splits a tree.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {leaf_index} is not below tree size {tree_size}")]
    LeafOutOfRange { leaf_index: u64, tree_size: u64 },
    #[error("tree size {tree_size} is larger than the log ({log_size} leaves)")]
    TreeTooLarge { tree_size: u64, log_size: u64 },
    #[error("first tree size {first} must be at least 1 and at most second tree size {second}")]
    BadConsistencyRange { first: u64, second: u64 },
    /// The answer needs the hashes inside chunk `chunk`, which the tree pruned: read the
    /// chunk's leaves from storage, [`Tree::restore_chunk`] them and ask again.
    #[error("the hashes inside chunk {chunk} were pruned from memory")]
    ChunkPruned { chunk: u64 },
}

/// Leaves read back from storage that do not hash to the chunk hash the tree kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the stored leaves of log chunk {chunk} do not hash to the tree's hash of that chunk")]
pub struct ChunkMismatch {
    pub chunk: u64,
}

/// Pruned chunks brought back for one answer, each a whole tree of its leaves.
#[derive(Clone, Debug, Default)]
pub struct Chunks {
    trees: HashMap<u64, Tree>,
}

impl Chunks {
    pub fn contains(&self, chunk: u64) -> bool {
        self.trees.contains_key(&chunk)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the proof does not fit the given index and tree sizes")]
    MalformedProof,
    #[error("the proof leads to another root")]
    RootMismatch,
}

/// An append-only tree kept as the hashes of every complete, aligned subtree: `levels[k][i]`
/// covers leaves `i·2^k .. (i+1)·2^k`. About two hashes per leaf; every subtree hash of any
/// earlier tree size is at most O(log n) node hashes away.
///
/// Below [`CHUNK_LEVEL`], the hashes of the first `pruned_chunks` chunks may be gone: there
/// `levels[k][i]` covers the subtree `i + (pruned_chunks << (CHUNK_LEVEL - k))`.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
    len: u64,
    pruned_chunks: u64,
}

impl Tree {
    pub fn new() -> Tree {
        Tree::default()
    }

    /// A tree of these leaf hashes, in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Tree {
        let mut tree = Tree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Leaves in the tree.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Leaves whose hashes the tree no longer keeps (a multiple of [`CHUNK_LEAVES`]).
    pub fn pruned_leaves(&self) -> u64 {
        self.pruned_chunks << CHUNK_LEVEL
    }

    /// Hashes held in memory, leaves and interior nodes: what the tree costs.
    pub fn hashes_held(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    /// A leaf hash, unless it is past the end or pruned.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.stored(0, index)
    }

    /// Appends a leaf by its leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        // Below the chunk level a pruned prefix is an even number of hashes, so the parity of
        // each level's vector is the parity of the level itself.
        let mut level = 0;
        let mut hash = leaf;
        self.len += 1;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let filled = self.levels[level].len();
            if !filled.is_multiple_of(2) {
                return;
            }
            hash = node_hash(
                &self.levels[level][filled - 2],
                &self.levels[level][filled - 1],
            );
            level += 1;
        }
    }

    /// Drops every leaf from `size` on (an append the database refused). A size inside the
    /// pruned prefix cannot be gone back to: `ChunkPruned`, and the tree is unchanged.
    pub fn truncate(&mut self, size: u64) -> Result<(), ProofError> {
        if size >= self.len {
            return Ok(());
        }
        if size < self.pruned_leaves() {
            return Err(ProofError::ChunkPruned {
                chunk: size >> CHUNK_LEVEL,
            });
        }
        for level in 0..self.levels.len() {
            let keep = (size >> level).saturating_sub(self.offset(level));
            self.levels[level].truncate(usize::try_from(keep).unwrap_or(usize::MAX));
        }
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
        self.len = size;
        Ok(())
    }

    /// Forgets the hashes inside every complete chunk below leaf `size` (what storage holds
    /// durably), keeping each chunk's own hash and everything above it.
    pub fn prune_below(&mut self, size: u64) {
        let chunks = size.min(self.len) >> CHUNK_LEVEL;
        if chunks <= self.pruned_chunks {
            return;
        }
        let newly = chunks - self.pruned_chunks;
        for (level, hashes) in self.levels.iter_mut().enumerate().take(CHUNK_LEVEL) {
            let drop = usize::try_from(newly << (CHUNK_LEVEL - level)).unwrap_or(usize::MAX);
            hashes.drain(..drop.min(hashes.len()));
        }
        self.pruned_chunks = chunks;
    }

    /// Brings chunk `chunk` back into `chunks` from its leaf hashes as storage holds them,
    /// if they hash to the chunk hash this tree kept.
    pub fn restore_chunk(
        &self,
        chunks: &mut Chunks,
        chunk: u64,
        leaves: impl IntoIterator<Item = Hash>,
    ) -> Result<(), ChunkMismatch> {
        let restored = Tree::from_leaf_hashes(leaves);
        let kept = self.stored(CHUNK_LEVEL, chunk);
        if restored.len() != CHUNK_LEAVES
            || kept.is_none()
            || kept != restored.stored(CHUNK_LEVEL, 0)
        {
            return Err(ChunkMismatch { chunk });
        }
        chunks.trees.insert(chunk, restored);
        Ok(())
    }

    /// Where `levels[level]` starts, in subtrees of that level.
    fn offset(&self, level: usize) -> u64 {
        if level < CHUNK_LEVEL {
            self.pruned_chunks << (CHUNK_LEVEL - level)
        } else {
            0
        }
    }

    /// The hash of the aligned subtree `index` of `level`, if the tree holds it.
    fn stored(&self, level: usize, index: u64) -> Option<Hash> {
        let local = usize::try_from(index.checked_sub(self.offset(level))?).ok()?;
        self.levels.get(level)?.get(local).copied()
    }

    /// The root of the whole tree. Never needs a pruned chunk: the tree keeps every complete
    /// chunk's hash and the whole of its last, incomplete chunk.
    pub fn root(&self) -> Hash {
        self.root_at(self.len).unwrap_or_else(|_| empty_root())
    }

    /// The root the tree had when it held `tree_size` leaves.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, ProofError> {
        self.root_at_with(tree_size, &Chunks::default())
    }

    /// `root_at`, reading pruned hashes from `chunks`.
    pub fn root_at_with(&self, tree_size: u64, chunks: &Chunks) -> Result<Hash, ProofError> {
        self.check_size(tree_size)?;
        if tree_size == 0 {
            return Ok(empty_root());
        }
        self.subtree(0, tree_size, chunks)
    }

    /// The audit path of leaf `leaf_index` in the tree of `tree_size` leaves (RFC 6962 §2.1.1),
    /// nearest sibling first.
    pub fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, ProofError> {
        self.inclusion_proof_with(leaf_index, tree_size, &Chunks::default())
    }

    /// `inclusion_proof`, reading pruned hashes from `chunks`.
    pub fn inclusion_proof_with(
        &self,
        leaf_index: u64,
        tree_size: u64,
        chunks: &Chunks,
    ) -> Result<Vec<Hash>, ProofError> {
        self.check_size(tree_size)?;
        if leaf_index >= tree_size {
            return Err(ProofError::LeafOutOfRange {
                leaf_index,
                tree_size,
            });
        }
        let mut proof = Vec::new();
        self.path(leaf_index, 0, tree_size, chunks, &mut proof)?;
        Ok(proof)
    }

    /// The proof that the tree of `first` leaves is a prefix of the tree of `second` leaves
    /// (RFC 6962 §2.1.2). `first == second` has an empty proof.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        self.consistency_proof_with(first, second, &Chunks::default())
    }

    /// `consistency_proof`, reading pruned hashes from `chunks`.
    pub fn consistency_proof_with(
        &self,
        first: u64,
        second: u64,
        chunks: &Chunks,
    ) -> Result<Vec<Hash>, ProofError> {
        self.check_size(second)?;
        if first == 0 || first > second {
            return Err(ProofError::BadConsistencyRange { first, second });
        }
        let mut proof = Vec::new();
        self.subproof(first, 0, second, true, chunks, &mut proof)?;
        Ok(proof)
    }

    fn check_size(&self, tree_size: u64) -> Result<(), ProofError> {
        if tree_size > self.len {
            return Err(ProofError::TreeTooLarge {
                tree_size,
                log_size: self.len,
            });
        }
        Ok(())
    }

    /// MTH(D[start..end]); `start..end` is a range the RFC recursion reaches, so every left
    /// part is a complete aligned subtree, stored in `levels` or inside a pruned chunk.
    fn subtree(&self, start: u64, end: u64, chunks: &Chunks) -> Result<Hash, ProofError> {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            if let Some(hash) = self.stored(level, start >> level) {
                return Ok(hash);
            }
            if level < CHUNK_LEVEL && start < self.pruned_leaves() {
                let chunk = start >> CHUNK_LEVEL;
                let base = chunk << CHUNK_LEVEL;
                return match chunks.trees.get(&chunk) {
                    Some(leaves) => leaves.subtree(start - base, end - base, &Chunks::default()),
                    None => Err(ProofError::ChunkPruned { chunk }),
                };
            }
        }
        if n < 2 {
            return Err(ProofError::TreeTooLarge {
                tree_size: end,
                log_size: self.len,
            });
        }
        let k = split_point(n);
        Ok(node_hash(
            &self.subtree(start, start + k, chunks)?,
            &self.subtree(start + k, end, chunks)?,
        ))
    }

    fn path(
        &self,
        m: u64,
        start: u64,
        end: u64,
        chunks: &Chunks,
        proof: &mut Vec<Hash>,
    ) -> Result<(), ProofError> {
        let n = end - start;
        if n == 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, start + k, chunks, proof)?;
            proof.push(self.subtree(start + k, end, chunks)?);
        } else {
            self.path(m - k, start + k, end, chunks, proof)?;
            proof.push(self.subtree(start, start + k, chunks)?);
        }
        Ok(())
    }

    fn subproof(
        &self,
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        chunks: &Chunks,
        proof: &mut Vec<Hash>,
    ) -> Result<(), ProofError> {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(self.subtree(start, end, chunks)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, chunks, proof)?;
            proof.push(self.subtree(start + k, end, chunks)?);
        } else {
            self.subproof(m - k, start + k, end, false, chunks, proof)?;
            proof.push(self.subtree(start, start + k, chunks)?);
        }
        Ok(())
    }
}

/// Checks that `leaf` sits at `leaf_index` in the tree of `tree_size` leaves whose root is
/// `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    leaf_index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if leaf_index >= tree_size {
        return Err(VerifyError::MalformedProof);
    }
    let (mut fn_, mut sn) = (leaf_index, tree_size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::MalformedProof);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::MalformedProof);
    }
    if r != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `first` leaves with root `first_root` is a prefix of the tree of
/// `second` leaves with root `second_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if first == 0 || first > second {
        return Err(VerifyError::MalformedProof);
    }
    if first == second {
        if !proof.is_empty() {
            return Err(VerifyError::MalformedProof);
        }
        return if first_root == second_root {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch)
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((seed, rest)) = path.split_first() else {
        return Err(VerifyError::MalformedProof);
    };
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return Err(VerifyError::MalformedProof);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::MalformedProof);
    }
    if fr != *first_root || sr != *second_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// MTH straight from the recursive definition of RFC 6962 §2.1, over leaf data.
    fn reference_root(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => Hash(Sha256::digest([]).into()),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn data(n: u64) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
    }

    fn tree_of(leaves: &[Vec<u8>]) -> Tree {
        Tree::from_leaf_hashes(leaves.iter().map(|leaf| leaf_hash(leaf)))
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_empty_tree_has_the_hash_of_nothing_as_root() {
        assert_eq!(
            Tree::new().root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn roots_match_the_certificate_transparency_test_vectors() {
        // The eight leaves and roots of the RFC 6962 reference implementation's tests.
        let leaves: Vec<Vec<u8>> = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|leaf| unhex(leaf))
        .collect();
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let tree = tree_of(&leaves);
        for (size, root) in (1..=8).zip(roots) {
            assert_eq!(tree.root_at(size).unwrap().to_hex(), root, "size {size}");
            assert_eq!(reference_root(&leaves[..size as usize]).to_hex(), root);
        }
    }

    #[test]
    fn a_three_leaf_root_is_computed_by_hand() {
        let (a, b, c) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
        let tree = Tree::from_leaf_hashes([a, b, c]);
        assert_eq!(tree.root(), node_hash(&node_hash(&a, &b), &c));
    }

    #[test]
    fn every_earlier_root_matches_the_definition() {
        let leaves = data(70);
        let tree = tree_of(&leaves);
        for size in 0..=70 {
            assert_eq!(
                tree.root_at(size).unwrap(),
                reference_root(&leaves[..size as usize])
            );
        }
        assert!(matches!(
            tree.root_at(71),
            Err(ProofError::TreeTooLarge { .. })
        ));
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_leaf_does_not() {
        let leaves = data(33);
        let tree = tree_of(&leaves);
        for size in 1..=33 {
            let root = tree.root_at(size).unwrap();
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                let leaf = leaf_hash(&leaves[index as usize]);
                assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
                let other = leaf_hash(b"not in the tree");
                let mut bent = proof.clone();
                if let Some(first) = bent.first_mut() {
                    first.0[0] ^= 1;
                    assert!(verify_inclusion(&leaf, index, size, &bent, &root).is_err());
                }
                assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
                if size > 1 {
                    let wrong_index = (index + 1) % size;
                    assert!(verify_inclusion(&leaf, wrong_index, size, &proof, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_forked_tree_does_not() {
        let leaves = data(33);
        let tree = tree_of(&leaves);
        let mut forked = leaves.clone();
        forked[0] = b"rewritten history".to_vec();
        let forked = tree_of(&forked);
        for second in 1..=33 {
            let second_root = tree.root_at(second).unwrap();
            for first in 1..=second {
                let first_root = tree.root_at(first).unwrap();
                let proof = tree.consistency_proof(first, second).unwrap();
                assert_eq!(
                    verify_consistency(first, second, &first_root, &second_root, &proof),
                    Ok(()),
                    "{first} → {second}"
                );
                let forked_root = forked.root_at(first).unwrap();
                assert!(
                    verify_consistency(first, second, &forked_root, &second_root, &proof).is_err()
                );
            }
        }
    }

    #[test]
    fn proofs_outside_the_tree_are_refused() {
        let tree = tree_of(&data(5));
        assert!(tree.inclusion_proof(5, 5).is_err());
        assert!(tree.inclusion_proof(0, 6).is_err());
        assert!(tree.consistency_proof(0, 5).is_err());
        assert!(tree.consistency_proof(4, 3).is_err());
        assert!(tree.consistency_proof(3, 6).is_err());
    }

    #[test]
    fn a_truncated_tree_is_the_tree_it_was() {
        let leaves = data(20);
        let mut tree = tree_of(&leaves);
        tree.truncate(13).unwrap();
        assert_eq!(tree.len(), 13);
        assert_eq!(tree.root(), reference_root(&leaves[..13]));
        tree.push(leaf_hash(&leaves[13]));
        assert_eq!(tree.root(), reference_root(&leaves[..14]));
    }

    /// A pruned tree with the chunks it asks for brought back, as the sequencer does it.
    fn answer<T>(
        pruned: &Tree,
        full: &Tree,
        mut ask: impl FnMut(&Chunks) -> Result<T, ProofError>,
    ) -> Result<T, ProofError> {
        let mut chunks = Chunks::default();
        loop {
            match ask(&chunks) {
                Err(ProofError::ChunkPruned { chunk }) if !chunks.contains(chunk) => {
                    let start = chunk * CHUNK_LEAVES;
                    let leaves = (start..start + CHUNK_LEAVES).map(|i| full.leaf(i).unwrap());
                    pruned.restore_chunk(&mut chunks, chunk, leaves).unwrap();
                }
                other => return other,
            }
        }
    }

    #[test]
    fn a_pruned_tree_proves_what_the_whole_tree_proves() {
        let size = 3 * CHUNK_LEAVES + 77;
        let full = tree_of(&data(size));
        let mut pruned = Tree::new();
        for index in 0..size {
            pruned.push(full.leaf(index).unwrap());
            if index % 500 == 0 {
                pruned.prune_below(index);
            }
        }
        pruned.prune_below(size);
        assert_eq!(pruned.pruned_leaves(), 3 * CHUNK_LEAVES);
        assert_eq!(pruned.root(), full.root());
        assert!(matches!(
            pruned.inclusion_proof(5, size),
            Err(ProofError::ChunkPruned { chunk: 0 })
        ));
        let sizes = [
            1,
            2,
            1000,
            1024,
            1025,
            2048,
            2049,
            3000,
            3072,
            size - 1,
            size,
        ];
        for tree_size in sizes {
            assert_eq!(
                answer(&pruned, &full, |chunks| pruned
                    .root_at_with(tree_size, chunks)),
                full.root_at(tree_size),
                "root at {tree_size}"
            );
            for index in [0, 1, 511, 1023, 1024, 2047, 2500, 3071, 3072, size - 1] {
                assert_eq!(
                    answer(&pruned, &full, |chunks| pruned
                        .inclusion_proof_with(index, tree_size, chunks)),
                    full.inclusion_proof(index, tree_size),
                    "leaf {index} in {tree_size}"
                );
            }
            for first in sizes {
                assert_eq!(
                    answer(&pruned, &full, |chunks| pruned
                        .consistency_proof_with(first, tree_size, chunks)),
                    full.consistency_proof(first, tree_size),
                    "{first} → {tree_size}"
                );
            }
        }
    }

    #[test]
    fn a_pruned_tree_holds_about_two_hashes_per_chunk() {
        let size = 64 * CHUNK_LEAVES + 5;
        let mut tree = Tree::new();
        for index in 0..size {
            tree.push(leaf_hash(&index.to_be_bytes()));
            if index % 5_000 == 0 {
                tree.prune_below(index);
            }
        }
        assert!(tree.hashes_held() > 2 * CHUNK_LEAVES as usize);
        tree.prune_below(size);
        // 127 chunk-level-and-above hashes, and the last 5 leaves with their 3 parents.
        assert_eq!(tree.hashes_held(), 127 + 5 + 3);
        assert_eq!(tree.leaf(3), None);
        assert_eq!(
            tree.leaf(size - 1),
            Some(leaf_hash(&(size - 1).to_be_bytes()))
        );
    }

    #[test]
    fn leaves_that_do_not_hash_to_the_kept_chunk_are_refused() {
        let full = tree_of(&data(2 * CHUNK_LEAVES));
        let mut pruned = full.clone();
        pruned.prune_below(2 * CHUNK_LEAVES);
        let mut chunks = Chunks::default();
        let mut forged: Vec<Hash> = (0..CHUNK_LEAVES).map(|i| full.leaf(i).unwrap()).collect();
        forged[9] = leaf_hash(b"rewritten");
        assert_eq!(
            pruned.restore_chunk(&mut chunks, 0, forged),
            Err(ChunkMismatch { chunk: 0 })
        );
        let short = (0..10).map(|i| full.leaf(i).unwrap());
        assert!(pruned.restore_chunk(&mut chunks, 0, short).is_err());
        assert!(!chunks.contains(0));
    }

    #[test]
    fn a_pruned_tree_truncates_above_its_pruned_leaves_only() {
        let leaves = data(CHUNK_LEAVES + 40);
        let mut tree = tree_of(&leaves);
        tree.prune_below(CHUNK_LEAVES + 10);
        assert!(tree.truncate(CHUNK_LEAVES - 1).is_err());
        assert_eq!(tree.len(), CHUNK_LEAVES + 40);
        tree.truncate(CHUNK_LEAVES + 3).unwrap();
        assert_eq!(
            tree.root(),
            reference_root(&leaves[..CHUNK_LEAVES as usize + 3])
        );
        tree.push(leaf_hash(&leaves[CHUNK_LEAVES as usize + 3]));
        assert_eq!(
            tree.root(),
            reference_root(&leaves[..CHUNK_LEAVES as usize + 4])
        );
    }

    #[test]
    fn hex_round_trips() {
        let hash = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(Hash::from_hex(&hash.to_hex().to_uppercase()), Some(hash));
        assert_eq!(Hash::from_hex("zz"), None);
    }
}
