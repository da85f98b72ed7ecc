//! Post-send audit (CONTRACT section 6): a random sample of sent replies,
//! stratified by tier and reproducible from its seed, and the reviewers'
//! labels on them (a verdict and six 0–2 scores).
//!
//! Pure functions; the sample and label records are the store's versioned
//! kinds (`src/store/qa.rs`).

use rand::SeedableRng;
use rand::seq::index::sample as pick_indexes;

use crate::core::types::Tier;

pub use crate::store::qa::{DIMENSIONS, QaItem, QaLabel, QaSample, Scores, Verdict};

/// A reply that may be sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub item: QaItem,
}

/// The stratum of a tier: R0..R3, then unclassified.
fn stratum(t: Option<Tier>) -> usize {
    match t {
        Some(Tier::R0) => 0,
        Some(Tier::R1) => 1,
        Some(Tier::R2) => 2,
        Some(Tier::R3) => 3,
        None => 4,
    }
}

/// How many of `n` each stratum gets: proportional to its size (largest
/// remainder), at least one from every non-empty stratum while `n` allows,
/// never more than a stratum holds.
pub fn allocate(sizes: &[usize], n: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    let n = n.min(total);
    let mut take = vec![0usize; sizes.len()];
    if n == 0 {
        return take;
    }
    let nonempty: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > 0).collect();
    let mut left = n;
    if n >= nonempty.len() {
        for &i in &nonempty {
            take[i] = 1;
        }
        left -= nonempty.len();
    }
    // Share what is left in proportion to what each stratum has left.
    let room: Vec<usize> = (0..sizes.len()).map(|i| sizes[i] - take[i]).collect();
    let room_total: usize = room.iter().sum();
    if left > 0 && room_total > 0 {
        let mut given = 0;
        let mut remainders: Vec<(usize, usize)> = Vec::new();
        for i in 0..sizes.len() {
            let exact = left * room[i];
            let whole = exact / room_total;
            take[i] += whole;
            given += whole;
            remainders.push((exact % room_total, i));
        }
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders {
            if given == left {
                break;
            }
            if take[i] < sizes[i] {
                take[i] += 1;
                given += 1;
            }
        }
    }
    take
}

/// Draws up to `n` of `candidates`, stratified by tier, reproducibly: the
/// same candidates, `n` and `seed` give the same sample. Candidates are
/// ordered by send time first, so the store's scan order does not matter.
pub fn draw(mut candidates: Vec<Candidate>, n: usize, seed: u64) -> Vec<QaItem> {
    candidates.sort_by(|a, b| {
        (a.item.sent_at, a.item.case, a.item.seq).cmp(&(b.item.sent_at, b.item.case, b.item.seq))
    });
    let mut strata: Vec<Vec<QaItem>> = vec![Vec::new(); 5];
    for c in candidates {
        strata[stratum(c.item.tier)].push(c.item);
    }
    let sizes: Vec<usize> = strata.iter().map(Vec::len).collect();
    let take = allocate(&sizes, n);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (items, k) in strata.into_iter().zip(take) {
        let mut chosen = pick_indexes(&mut rng, items.len(), k).into_vec();
        chosen.sort_unstable();
        out.extend(chosen.into_iter().map(|i| items[i].clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{CaseId, Timestamp};

    fn candidates(per_tier: &[(Option<Tier>, usize)]) -> Vec<Candidate> {
        let mut out = Vec::new();
        let mut seq = 0;
        for (tier, count) in per_tier {
            for _ in 0..*count {
                seq += 1;
                out.push(Candidate {
                    item: QaItem {
                        case: CaseId(uuid::Uuid::from_u128(seq as u128)),
                        seq,
                        tier: *tier,
                        template: None,
                        sent_at: Timestamp(seq as i64),
                    },
                });
            }
        }
        out
    }

    #[test]
    fn every_tier_present_is_sampled_and_shares_follow_sizes() {
        assert_eq!(allocate(&[80, 10, 6, 4, 0], 10), vec![6, 2, 1, 1, 0]);
        assert_eq!(allocate(&[80, 10, 6, 4, 0], 2), vec![2, 0, 0, 0, 0]);
        assert_eq!(allocate(&[1, 1, 0, 0, 0], 10), vec![1, 1, 0, 0, 0]);
        assert_eq!(allocate(&[3, 0, 0, 0, 0], 0), vec![0, 0, 0, 0, 0]);
        for n in 0..60 {
            let take = allocate(&[30, 12, 7, 3, 1], n);
            assert_eq!(take.iter().sum::<usize>(), n.min(53), "n = {n}");
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_and_another_seed_another() {
        let c = candidates(&[
            (Some(Tier::R0), 50),
            (Some(Tier::R1), 30),
            (Some(Tier::R2), 10),
            (Some(Tier::R3), 5),
        ]);
        let mut shuffled = c.clone();
        shuffled.reverse();
        let a = draw(c.clone(), 12, 7);
        assert_eq!(a, draw(shuffled, 12, 7), "scan order does not matter");
        assert_ne!(a, draw(c.clone(), 12, 8));
        assert_eq!(a.len(), 12);
        for tier in [Tier::R0, Tier::R1, Tier::R2, Tier::R3] {
            assert!(a.iter().any(|i| i.tier == Some(tier)), "{tier:?} sampled");
        }
        let mut keys: Vec<u64> = a.iter().map(|i| i.seq).collect();
        keys.dedup();
        assert_eq!(keys.len(), 12, "no reply twice");
    }
}
