//! Short-text classification: hashed features and a multinomial logistic
//! regression (softmax) model, trained by AdaGrad, deterministically.
//!
//! - A *feature* is the 64-bit FNV-1a hash of a string under a one-byte
//!   namespace (a word, a stem, a pair of words, a character n-gram); a
//!   text is a set of features ([`Features`], sorted, no duplicates),
//!   read as a binary vector scaled to unit length.
//! - [`Model::train`] fits one weight per (feature, class) and a bias per
//!   class by minimising the cross-entropy with an L2 penalty (Bishop,
//!   *Pattern Recognition and Machine Learning*, 4.3.4), with per-weight
//!   AdaGrad step sizes (Duchi, Hazan & Singer 2011). Examples are visited
//!   in a fixed order per epoch and weights start at zero: the same
//!   examples always give the same model.
//! - [`Model::probabilities`] is the softmax of the class scores; features
//!   the model never saw are ignored.
//!
//! The crate is separate so that it is compiled with optimisations in
//! every profile (`[profile.dev.package.caseflow-textcat]` in the root
//! manifest): a model is trained when the desk starts, also in debug
//! builds and tests, and must take milliseconds there too.

use std::collections::HashMap;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The feature of `text` under `namespace` (e.g. `b'w'` for words).
pub fn feature(namespace: u8, text: &str) -> u64 {
    fnv(fnv(FNV_OFFSET, &[namespace, 0]), text.as_bytes())
}

/// The feature of two strings in order (e.g. a pair of words).
pub fn feature_pair(namespace: u8, a: &str, b: &str) -> u64 {
    let h = fnv(fnv(FNV_OFFSET, &[namespace, 0]), a.as_bytes());
    fnv(fnv(h, &[0]), b.as_bytes())
}

/// Namespace of character n-gram features.
pub const CHAR_NAMESPACE: u8 = b'c';

/// Calls `f` with every character n-gram of `word` written between `<` and
/// `>` ("batal": "<b", "ba", ..., "al>", "<ba", ...), for `min..=max`
/// characters, shortest first.
pub fn char_ngrams(word: &str, min: usize, max: usize, mut f: impl FnMut(&str)) {
    let mut bordered = String::with_capacity(word.len() + 2);
    bordered.push('<');
    bordered.push_str(word);
    bordered.push('>');
    // Byte offsets of every character start, and the end.
    let starts: Vec<usize> = bordered
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(bordered.len()))
        .collect();
    let chars = starts.len() - 1;
    for n in min.max(1)..=max {
        if n > chars {
            break;
        }
        for s in 0..=chars - n {
            f(&bordered[starts[s]..starts[s + n]]);
        }
    }
}

/// A text's features: sorted, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features(Vec<u64>);

impl Features {
    pub fn from_hashes(mut hashes: Vec<u64>) -> Features {
        hashes.sort_unstable();
        hashes.dedup();
        Features(hashes)
    }

    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a model is trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Training {
    /// Passes over the examples.
    pub epochs: usize,
    /// AdaGrad base step size.
    pub rate: f64,
    /// L2 penalty per weight.
    pub l2: f64,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            epochs: 10,
            rate: 0.5,
            l2: 1e-5,
        }
    }
}

/// Why a model cannot be trained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainError {
    NoExamples,
    NoClasses,
    /// An example's class is not below the number of classes.
    ClassOutOfRange {
        example: usize,
        class: usize,
    },
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::NoExamples => write!(f, "no training examples"),
            TrainError::NoClasses => write!(f, "no classes"),
            TrainError::ClassOutOfRange { example, class } => {
                write!(f, "example {example}: class {class} is out of range")
            }
        }
    }
}

impl std::error::Error for TrainError {}

/// A trained multinomial logistic regression.
#[derive(Debug, Clone)]
pub struct Model {
    classes: usize,
    /// Feature hash -> row of `weights`.
    index: HashMap<u64, u32>,
    /// Row-major: `classes` weights per known feature.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Model {
    /// Trains on `examples` (features, class below `classes`), visited in
    /// a fixed order.
    pub fn train(
        examples: &[(&Features, usize)],
        classes: usize,
        training: &Training,
    ) -> Result<Model, TrainError> {
        if classes == 0 {
            return Err(TrainError::NoClasses);
        }
        if examples.is_empty() {
            return Err(TrainError::NoExamples);
        }
        if let Some((i, (_, c))) = examples
            .iter()
            .enumerate()
            .find(|(_, (_, c))| *c >= classes)
        {
            return Err(TrainError::ClassOutOfRange {
                example: i,
                class: *c,
            });
        }
        let mut index: HashMap<u64, u32> = HashMap::new();
        let rows: Vec<Vec<u32>> = examples
            .iter()
            .map(|(f, _)| {
                f.as_slice()
                    .iter()
                    .map(|h| {
                        let next = index.len() as u32;
                        *index.entry(*h).or_insert(next)
                    })
                    .collect()
            })
            .collect();
        let k = classes;
        let mut w = vec![0f64; index.len() * k];
        let mut g2 = vec![1e-8f64; index.len() * k];
        let mut b = vec![0f64; k];
        let mut bg2 = vec![1e-8f64; k];
        let mut z = vec![0f64; k];
        let n = examples.len();
        let stride = coprime_stride(n);
        for epoch in 0..training.epochs {
            let mut at = epoch % n;
            for _ in 0..n {
                at = (at + stride) % n;
                let row = &rows[at];
                let x = 1.0 / (row.len().max(1) as f64).sqrt();
                z.copy_from_slice(&b);
                for &j in row {
                    let wj = &w[j as usize * k..(j as usize + 1) * k];
                    for c in 0..k {
                        z[c] += wj[c] * x;
                    }
                }
                softmax_in_place(&mut z);
                let y = examples[at].1;
                for c in 0..k {
                    let g = z[c] - if c == y { 1.0 } else { 0.0 };
                    bg2[c] += g * g;
                    b[c] -= training.rate * g / bg2[c].sqrt();
                    z[c] = g;
                }
                for &j in row {
                    let base = j as usize * k;
                    for (c, &zc) in z.iter().enumerate() {
                        let i = base + c;
                        let gj = zc * x + training.l2 * w[i];
                        g2[i] += gj * gj;
                        w[i] -= training.rate * gj / g2[i].sqrt();
                    }
                }
            }
        }
        Ok(Model {
            classes,
            index,
            weights: w.iter().map(|&v| v as f32).collect(),
            bias: b.iter().map(|&v| v as f32).collect(),
        })
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many distinct features the model knows.
    pub fn known_features(&self) -> usize {
        self.index.len()
    }

    /// Class scores (before the softmax) of a text.
    pub fn scores(&self, features: &Features) -> Vec<f64> {
        let k = self.classes;
        let rows: Vec<usize> = features
            .as_slice()
            .iter()
            .filter_map(|h| self.index.get(h).map(|&j| j as usize))
            .collect();
        let x = 1.0 / (rows.len().max(1) as f64).sqrt();
        let mut z: Vec<f64> = self.bias.iter().map(|&v| f64::from(v)).collect();
        for j in rows {
            for (c, zc) in z.iter_mut().enumerate() {
                *zc += f64::from(self.weights[j * k + c]) * x;
            }
        }
        z
    }

    /// Class probabilities of a text (they sum to 1).
    pub fn probabilities(&self, features: &Features) -> Vec<f64> {
        let mut z = self.scores(features);
        softmax_in_place(&mut z);
        z
    }

    /// The weight of `feature` for `class`, when the model knows the
    /// feature.
    pub fn weight(&self, feature: u64, class: usize) -> Option<f32> {
        let j = *self.index.get(&feature)? as usize;
        (class < self.classes).then(|| self.weights[j * self.classes + class])
    }
}

fn softmax_in_place(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// A step through `0..n` that visits every index once per pass: odd,
/// near the golden ratio of `n`, coprime with `n`.
fn coprime_stride(n: usize) -> usize {
    if n <= 2 {
        return 1;
    }
    let mut s = ((n as f64 * 0.618_033_988_7) as usize) | 1;
    while gcd(s, n) != 1 {
        s += 2;
    }
    s
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A multinomial logistic regression over a few dense inputs (values, not
/// hashed features): the stacking model that weighs other models' outputs
/// (Wolpert, "Stacked generalization", 1992). Weights are `classes` rows of
/// `inputs + 1` values, the bias last.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    classes: usize,
    inputs: usize,
    weights: Vec<f64>,
}

/// Why dense weights cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenseError {
    NoClasses,
    /// `weights` holds `found` values where `classes * (inputs + 1)` are
    /// needed.
    Shape {
        expected: usize,
        found: usize,
    },
    /// A weight is not a finite number.
    NotFinite {
        at: usize,
    },
    /// A training row has `found` inputs instead of `expected`.
    Row {
        example: usize,
        expected: usize,
        found: usize,
    },
    Train(TrainError),
}

impl std::fmt::Display for DenseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DenseError::NoClasses => write!(f, "no classes"),
            DenseError::Shape { expected, found } => {
                write!(f, "{found} weights where {expected} are needed")
            }
            DenseError::NotFinite { at } => write!(f, "weight {at} is not a finite number"),
            DenseError::Row {
                example,
                expected,
                found,
            } => write!(
                f,
                "example {example}: {found} inputs where {expected} are needed"
            ),
            DenseError::Train(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DenseError {}

impl Dense {
    /// Trains by AdaGrad stochastic gradient descent, every example once
    /// per pass in a fixed order (deterministic), with the L2 penalty
    /// `training.l2` on the weights (not the bias).
    ///
    /// Errors: no examples or classes, a class out of range, a row whose
    /// length is not `inputs`.
    pub fn train(
        examples: &[(&[f64], usize)],
        classes: usize,
        inputs: usize,
        training: &Training,
    ) -> Result<Dense, DenseError> {
        if classes == 0 {
            return Err(DenseError::NoClasses);
        }
        if examples.is_empty() {
            return Err(DenseError::Train(TrainError::NoExamples));
        }
        for (i, (x, c)) in examples.iter().enumerate() {
            if *c >= classes {
                return Err(DenseError::Train(TrainError::ClassOutOfRange {
                    example: i,
                    class: *c,
                }));
            }
            if x.len() != inputs {
                return Err(DenseError::Row {
                    example: i,
                    expected: inputs,
                    found: x.len(),
                });
            }
        }
        let width = inputs + 1;
        let mut w = vec![0f64; classes * width];
        let mut g2 = vec![1e-8f64; classes * width];
        let mut z = vec![0f64; classes];
        let n = examples.len();
        let stride = coprime_stride(n);
        let mut at = 0;
        for _ in 0..training.epochs {
            for _ in 0..n {
                at = (at + stride) % n;
                let (x, y) = examples[at];
                for (c, zc) in z.iter_mut().enumerate() {
                    *zc = dot(&w[c * width..(c + 1) * width], x);
                }
                softmax_in_place(&mut z);
                for (c, &p) in z.iter().enumerate() {
                    let g = p - if c == y { 1.0 } else { 0.0 };
                    let row = c * width;
                    for (j, &xj) in x.iter().chain(std::iter::once(&1.0)).enumerate() {
                        let i = row + j;
                        let penalty = if j < inputs { training.l2 * w[i] } else { 0.0 };
                        let gj = g * xj + penalty;
                        g2[i] += gj * gj;
                        w[i] -= training.rate * gj / g2[i].sqrt();
                    }
                }
            }
        }
        Ok(Dense {
            classes,
            inputs,
            weights: w,
        })
    }

    /// A model from weights written out before ([`Dense::weights`]).
    ///
    /// Errors: no classes, the wrong number of weights, a weight that is
    /// not finite.
    pub fn from_weights(
        classes: usize,
        inputs: usize,
        weights: Vec<f64>,
    ) -> Result<Dense, DenseError> {
        if classes == 0 {
            return Err(DenseError::NoClasses);
        }
        let expected = classes * (inputs + 1);
        if weights.len() != expected {
            return Err(DenseError::Shape {
                expected,
                found: weights.len(),
            });
        }
        if let Some(at) = weights.iter().position(|w| !w.is_finite()) {
            return Err(DenseError::NotFinite { at });
        }
        Ok(Dense {
            classes,
            inputs,
            weights,
        })
    }

    /// The weights: `classes` rows of `inputs + 1` values, the bias last.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Class probabilities of `x` (`inputs` values; missing ones count as
    /// 0, extra ones are ignored).
    pub fn probabilities(&self, x: &[f64]) -> Vec<f64> {
        let width = self.inputs + 1;
        let x = &x[..x.len().min(self.inputs)];
        let mut z: Vec<f64> = (0..self.classes)
            .map(|c| {
                let row = &self.weights[c * width..(c + 1) * width];
                dot(&row[..x.len()], x) + row[self.inputs]
            })
            .collect();
        softmax_in_place(&mut z);
        z
    }
}

/// `w · x`, plus `w`'s last value when `w` is one longer than `x` (the bias).
fn dot(w: &[f64], x: &[f64]) -> f64 {
    let mut s: f64 = w.iter().zip(x).map(|(a, b)| a * b).sum();
    if w.len() == x.len() + 1 {
        s += w[x.len()];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(words: &str) -> Features {
        let mut h = Vec::new();
        for w in words.split_whitespace() {
            h.push(feature(b'w', w));
            char_ngrams(w, 2, 4, |g| h.push(feature(CHAR_NAMESPACE, g)));
        }
        Features::from_hashes(h)
    }

    fn corpus() -> Vec<(Features, usize)> {
        [
            ("refund my money", 0),
            ("i want a refund", 0),
            ("money back please", 0),
            ("give my money back", 0),
            ("when is my lesson", 1),
            ("lesson time tomorrow", 1),
            ("what time is the lesson", 1),
            ("next lesson when", 1),
            ("hello", 2),
            ("thanks a lot", 2),
            ("ok thanks", 2),
            ("hello there", 2),
        ]
        .into_iter()
        .map(|(t, c)| (text(t), c))
        .collect()
    }

    fn train(c: &[(Features, usize)]) -> Model {
        let ex: Vec<(&Features, usize)> = c.iter().map(|(f, c)| (f, *c)).collect();
        Model::train(&ex, 3, &Training::default()).unwrap()
    }

    #[test]
    fn n_grams_are_bordered_and_count_characters_not_bytes() {
        let mut seen = Vec::new();
        char_ngrams("bé", 2, 3, |g| seen.push(g.to_string()));
        assert_eq!(seen, ["<b", "bé", "é>", "<bé", "bé>"]);
        let mut none = Vec::new();
        char_ngrams("a", 4, 5, |g| none.push(g.to_string()));
        assert!(none.is_empty());
    }

    #[test]
    fn features_depend_on_namespace_and_order() {
        assert_ne!(feature(b'w', "ab"), feature(b's', "ab"));
        assert_ne!(feature_pair(b'b', "a", "b"), feature_pair(b'b', "b", "a"));
        assert_ne!(feature_pair(b'b', "ab", "c"), feature_pair(b'b', "a", "bc"));
        let f = Features::from_hashes(vec![3, 1, 3, 2]);
        assert_eq!(f.as_slice(), &[1, 2, 3]);
    }

    #[test]
    fn learns_separable_classes_and_generalises_to_new_forms() {
        let m = train(&corpus());
        let best = |t: &str| {
            let p = m.probabilities(&text(t));
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
        };
        assert_eq!(best("refund please"), 0);
        // An unseen inflection shares character n-grams.
        assert_eq!(best("refunded money"), 0);
        assert_eq!(best("lessons tomorrow"), 1);
        assert_eq!(best("thanks"), 2);
    }

    #[test]
    fn training_is_deterministic() {
        let c = corpus();
        let (a, b) = (train(&c), train(&c));
        let probe = text("money for the lesson");
        assert_eq!(a.probabilities(&probe), b.probabilities(&probe));
        assert_eq!(a.known_features(), b.known_features());
    }

    #[test]
    fn unknown_features_leave_the_class_priors() {
        let m = train(&corpus());
        let p = m.probabilities(&Features::from_hashes(vec![42]));
        assert_eq!(p, m.probabilities(&Features::default()));
        assert_eq!(m.weight(42, 0), None);
        assert!(m.weight(feature(b'w', "refund"), 0).unwrap() > 0.0);
        assert_eq!(m.weight(feature(b'w', "refund"), 3), None);
    }

    #[test]
    fn bad_training_input_is_refused() {
        let f = Features::default();
        let t = Training::default();
        assert_eq!(
            Model::train(&[], 2, &t).unwrap_err(),
            TrainError::NoExamples
        );
        assert_eq!(
            Model::train(&[(&f, 0)], 0, &t).unwrap_err(),
            TrainError::NoClasses
        );
        assert_eq!(
            Model::train(&[(&f, 0), (&f, 2)], 2, &t).unwrap_err(),
            TrainError::ClassOutOfRange {
                example: 1,
                class: 2
            }
        );
    }

    #[test]
    fn every_index_is_visited_once_per_pass() {
        for n in 1..60 {
            let s = coprime_stride(n);
            let mut seen = vec![false; n];
            let mut at = 0;
            for _ in 0..n {
                at = (at + s) % n;
                seen[at] = true;
            }
            assert!(seen.iter().all(|x| *x), "n {n} stride {s}");
        }
    }

    #[test]
    fn dense_learns_which_input_to_believe() {
        // Two readers each say a class (inputs 0 and 1), input 2 says
        // whether the first is to be believed, and input 3 is the believed
        // reader's answer: the model learns to follow input 3 alone.
        let rows: Vec<(Vec<f64>, usize)> = (0..64)
            .map(|i| {
                let a = (i % 2) as f64;
                let b = ((i / 2) % 2) as f64;
                let trust_a = (i / 4) % 2 == 0;
                let y = if trust_a { a as usize } else { b as usize };
                let x = vec![
                    a,
                    b,
                    if trust_a { 1.0 } else { 0.0 },
                    if trust_a { a } else { b },
                ];
                (x, y)
            })
            .collect();
        let refs: Vec<(&[f64], usize)> = rows.iter().map(|(x, y)| (x.as_slice(), *y)).collect();
        let t = Training {
            epochs: 200,
            rate: 0.5,
            l2: 0.0,
        };
        let m = Dense::train(&refs, 2, 4, &t).unwrap();
        let right = rows
            .iter()
            .filter(|(x, y)| {
                let p = m.probabilities(x);
                (p[1] > p[0]) == (*y == 1)
            })
            .count();
        assert_eq!(right, 64);
        assert_eq!(Dense::train(&refs, 2, 4, &t).unwrap(), m, "deterministic");
        let back = Dense::from_weights(2, 4, m.weights().to_vec()).unwrap();
        assert_eq!(back, m);
        let sum: f64 = m.probabilities(&[1.0, 0.0, 1.0, 1.0]).iter().sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn dense_refuses_bad_shapes() {
        assert_eq!(
            Dense::from_weights(2, 3, vec![0.0; 7])
                .unwrap_err()
                .to_string(),
            "7 weights where 8 are needed"
        );
        assert_eq!(
            Dense::from_weights(2, 1, vec![0.0, f64::NAN, 0.0, 0.0])
                .unwrap_err()
                .to_string(),
            "weight 1 is not a finite number"
        );
        let x = [1.0, 2.0];
        let err = Dense::train(&[(&x[..], 0)], 2, 3, &Training::default()).unwrap_err();
        assert_eq!(err.to_string(), "example 0: 2 inputs where 3 are needed");
        let err = Dense::train(&[(&x[..], 5)], 2, 2, &Training::default()).unwrap_err();
        assert_eq!(err.to_string(), "example 0: class 5 is out of range");
    }
}
