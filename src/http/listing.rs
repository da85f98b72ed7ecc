//! Which cases a listing shows, in which order, one page at a time: the
//! filter of `GET /admin/cases` and `POST /admin/cases/retry` (CONTRACT
//! section 4), shared by the console.
//!
//! Filters: `state`, `tier`, `waiting_on`, `stuck`, and `customer` (a phone
//! number in any format, normalised like ingest and identity do, or the
//! user id of a customer who hides their number). Order: `updated_desc`
//! (default) or `updated_asc`, ties broken by case id. Paging is by cursor:
//! `next_cursor` names the last case of a page by its position in the
//! order (updated time and id); `null` when the listing is complete.
//!
//! Every case that exists when a listing starts is listed, however many
//! there are and however they change while a client pages (CONTRACT section
//! 4: "cursor continues a listing, so every case can be listed"). A case
//! updated while a client pages moves in the order:
//! - `updated_asc`: it moves towards the end, so it is listed again later,
//!   never skipped;
//! - `updated_desc`: it would move to the pages already read. The cursor
//!   therefore remembers when the listing began (`as_of`); its pages list
//!   the cases last updated by then, newest first, and after them the
//!   cases updated since, oldest change first (the part a client would
//!   otherwise miss). A case may so appear twice, never not at all.
//!
//! A page reads every case record once (no index by update time), keeping
//! only the `limit` next ones in a bounded heap.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use super::ApiError;
use crate::core::case::CaseRecord;
use crate::core::types::{CaseId, State as CaseState, Tier};
use crate::engine::Engine;
use crate::store::StoreError;
use crate::store::erase::Subject;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Which cases a listing or a bulk retry is about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub state: Option<CaseState>,
    pub tier: Option<Tier>,
    pub waiting_on: Option<String>,
    pub stuck: Option<bool>,
    pub customer: Option<Subject>,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    UpdatedDesc,
    UpdatedAsc,
}

impl Order {
    fn parse(s: &str) -> Option<Order> {
        match s {
            "updated_desc" => Some(Order::UpdatedDesc),
            "updated_asc" => Some(Order::UpdatedAsc),
            _ => None,
        }
    }

    fn tag(self) -> u8 {
        match self {
            Order::UpdatedDesc => b'd',
            Order::UpdatedAsc => b'a',
        }
    }
}

/// A case's position in a listing: its update time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub updated_ms: i64,
    pub id: CaseId,
}

impl Position {
    pub fn of(case: &CaseRecord) -> Position {
        Position {
            updated_ms: case.updated_at.millis(),
            id: case.id,
        }
    }
}

/// A parsed `GET /admin/cases` query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Filter,
    pub order: Order,
    pub limit: usize,
    /// Where the listing stands (from `cursor`); default: its first page.
    pub resume: Resume,
}

/// Where a listing stands: what a cursor carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resume {
    /// `updated_desc` only: when the listing began (ms since the epoch).
    pub as_of: Option<i64>,
    /// Listing the cases updated since `as_of`, oldest change first.
    pub newer: bool,
    /// The last case shown.
    pub last: Option<Position>,
}

const CURSOR_LEN: usize = 34;
const HAS_AS_OF: u8 = 1;
const NEWER: u8 = 2;
const HAS_LAST: u8 = 4;

/// A cursor as hex: the order it was made for (one byte), flags (one byte),
/// `as_of` (8 bytes, big-endian), the last case's update time (8) and id
/// (16); absent parts are zero and flagged so.
pub fn cursor(order: Order, at: Resume) -> String {
    let mut b = Vec::with_capacity(CURSOR_LEN);
    b.push(order.tag());
    let flags = at.as_of.map_or(0, |_| HAS_AS_OF)
        | if at.newer { NEWER } else { 0 }
        | at.last.map_or(0, |_| HAS_LAST);
    b.push(flags);
    b.extend_from_slice(&at.as_of.unwrap_or(0).to_be_bytes());
    let last = at.last.unwrap_or(Position {
        updated_ms: 0,
        id: CaseId(uuid::Uuid::nil()),
    });
    b.extend_from_slice(&last.updated_ms.to_be_bytes());
    b.extend_from_slice(last.id.0.as_bytes());
    hex::encode(b)
}

fn parse_cursor(s: &str, order: Order) -> Result<Resume, ApiError> {
    let bad = || ApiError::bad_request("query `cursor` is not a cursor this listing gave");
    let b = hex::decode(s).map_err(|_| bad())?;
    if b.len() != CURSOR_LEN || b[1] & !(HAS_AS_OF | NEWER | HAS_LAST) != 0 {
        return Err(bad());
    }
    if b[0] != order.tag() {
        return Err(ApiError::bad_request(
            "query `cursor` was made for the other `order`",
        ));
    }
    let int = |r: std::ops::Range<usize>| -> Result<i64, ApiError> {
        Ok(i64::from_be_bytes(b[r].try_into().map_err(|_| bad())?))
    };
    let flags = b[1];
    let id = uuid::Uuid::from_slice(&b[18..]).map_err(|_| bad())?;
    Ok(Resume {
        as_of: (flags & HAS_AS_OF != 0).then(|| int(2..10)).transpose()?,
        newer: flags & NEWER != 0,
        last: (flags & HAS_LAST != 0)
            .then(|| {
                Ok::<_, ApiError>(Position {
                    updated_ms: int(10..18)?,
                    id: CaseId(id),
                })
            })
            .transpose()?,
    })
}

/// Reads the filter keys of `q` (unknown keys are left to the caller);
/// `what` names where they came from in errors ("query", "filter").
pub fn parse_filter(q: &HashMap<String, String>, what: &str) -> Result<Filter, ApiError> {
    let mut f = Filter::default();
    for (key, value) in q {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "state" => {
                f.state = Some(CaseState::parse(value).ok_or_else(|| {
                    ApiError::bad_request(format!("{what} `state`: unknown state '{value}'"))
                })?);
            }
            "tier" => {
                f.tier = Some(Tier::parse(value).ok_or_else(|| {
                    ApiError::bad_request(format!("{what} `tier` must be R0..R3, not '{value}'"))
                })?);
            }
            "waiting_on" => {
                let known = ["none", "customer", "operator", "coach", "timer"];
                if !known.contains(&value) && !value.starts_with("tool:") {
                    return Err(ApiError::bad_request(format!(
                        "{what} `waiting_on`: unknown wait '{value}'"
                    )));
                }
                f.waiting_on = Some(value.to_string());
            }
            "stuck" => {
                f.stuck = Some(value.parse().map_err(|_| {
                    ApiError::bad_request(format!("{what} `stuck` must be true or false"))
                })?);
            }
            "customer" => {
                f.customer = Some(
                    Subject::parse(value)
                        .map_err(|e| ApiError::bad_request(format!("{what} `customer`: {e}")))?,
                );
            }
            _ => {}
        }
    }
    Ok(f)
}

/// Reads a whole `GET /admin/cases` query.
pub fn parse_query(q: &HashMap<String, String>) -> Result<Query, ApiError> {
    let filter = parse_filter(q, "query")?;
    let order = match q.get("order").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Order::default(),
        Some(s) => Order::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query `order` must be updated_desc or updated_asc, not '{s}'"
            ))
        })?,
    };
    let limit = match q.get("limit").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("query `limit` must be 1 to {MAX_LIMIT}"))
            })?,
    };
    let resume = match q.get("cursor").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Resume::default(),
        Some(c) => parse_cursor(c, order)?,
    };
    Ok(Query {
        filter,
        order,
        limit,
        resume,
    })
}

/// A listed case and why it is stuck, if it is. An unreadable case is
/// listed (stuck) through a stand-in record built from what still decodes.
#[derive(Debug, Clone)]
pub struct Listed {
    pub case: CaseRecord,
    pub stuck: Option<String>,
    pub unreadable: Option<crate::store::UnreadableCase>,
}

/// One page of a listing, and the cursor of the next one.
#[derive(Debug, Clone)]
pub struct Page {
    pub cases: Vec<Listed>,
    pub next_cursor: Option<String>,
}

/// Whether `case` passes `f`; `stuck` is its stuck reason.
pub fn matches(f: &Filter, case: &CaseRecord, stuck: bool) -> bool {
    f.state.is_none_or(|s| s == case.state)
        && f.tier.is_none_or(|t| Some(t) == case.tier)
        && f.waiting_on
            .as_ref()
            .is_none_or(|w| *w == case.waiting_on.label())
        && f.stuck.is_none_or(|s| s == stuck)
        && f.customer
            .as_ref()
            .is_none_or(|c| c.matches(&case.customer.address))
}

/// Visits every case that passes `f`, with its stuck reason.
pub fn each_match(
    engine: &Engine,
    f: &Filter,
    mut visit: impl FnMut(Listed),
) -> Result<(), StoreError> {
    let now = engine.now();
    let stuck_after = engine.settings().stuck_after_ms;
    engine.store().scan_case_entries(|entry| {
        let listed = match entry {
            crate::store::CaseEntry::Readable(case) => {
                let wf = engine.workflows().get(&case.workflow);
                let stuck = super::views::stuck_of(&case, wf.as_deref(), now, stuck_after);
                Listed {
                    case: *case,
                    stuck,
                    unreadable: None,
                }
            }
            crate::store::CaseEntry::Unreadable(u) => Listed {
                case: super::views::placeholder_case(&u),
                stuck: Some(u.stuck_reason()),
                unreadable: Some(u),
            },
        };
        if matches(f, &listed.case, listed.stuck.is_some()) {
            visit(listed);
        }
        true
    })
}

/// The key a page is ordered by: ascending in the listing's order.
fn rank(order: Order, p: Position) -> (i64, u128) {
    let id = p.id.0.as_u128();
    match order {
        Order::UpdatedAsc => (p.updated_ms, id),
        Order::UpdatedDesc => (p.updated_ms.saturating_neg(), u128::MAX - id),
    }
}

struct Ranked {
    rank: (i64, u128),
    listed: Listed,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.rank == other.rank
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank.cmp(&other.rank)
    }
}

/// One page of the listing `q` asks for (see the module doc for what a
/// listing guarantees while cases change). Blocking: call it off the async
/// runtime.
pub fn page(engine: &Engine, q: &Query) -> Result<Page, StoreError> {
    let as_of = match q.order {
        Order::UpdatedDesc => Some(q.resume.as_of.unwrap_or_else(|| engine.now().millis())),
        Order::UpdatedAsc => None,
    };
    let newer = q.resume.newer && as_of.is_some();
    let order = if newer { Order::UpdatedAsc } else { q.order };
    let after = q.resume.last.map(|p| rank(order, p));
    let mut newer_exist = false;
    // A max-heap of the `limit + 1` first cases after the cursor: its top
    // is the last of them, dropped when a nearer one comes.
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(q.limit + 2);
    each_match(engine, &q.filter, |listed| {
        let at = Position::of(&listed.case);
        if let Some(t) = as_of
            && (at.updated_ms > t) != newer
        {
            newer_exist |= at.updated_ms > t;
            return;
        }
        let r = rank(order, at);
        if after.is_some_and(|a| r <= a) {
            return;
        }
        if heap.len() <= q.limit {
            heap.push(Ranked { rank: r, listed });
        } else if heap.peek().is_some_and(|top| r < top.rank) {
            heap.pop();
            heap.push(Ranked { rank: r, listed });
        }
    })?;
    let mut ranked = heap.into_sorted_vec();
    let more = ranked.len() > q.limit;
    ranked.truncate(q.limit);
    let next = match ranked.last() {
        Some(last) if more => Some(Resume {
            as_of,
            newer,
            last: Some(Position::of(&last.listed.case)),
        }),
        _ if newer_exist => Some(Resume {
            as_of,
            newer: true,
            last: None,
        }),
        _ => None,
    };
    Ok(Page {
        cases: ranked.into_iter().map(|r| r.listed).collect(),
        next_cursor: next.map(|r| cursor(q.order, r)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_query_names_what_is_wrong() {
        for (pairs, needle) in [
            (vec![("state", "sleeping")], "`state`"),
            (vec![("tier", "R9")], "`tier`"),
            (vec![("waiting_on", "god")], "`waiting_on`"),
            (vec![("stuck", "maybe")], "`stuck`"),
            (vec![("customer", "12")], "`customer`"),
            (vec![("customer", "a b c")], "`customer`"),
            (vec![("order", "newest")], "`order`"),
            (vec![("limit", "0")], "`limit`"),
            (vec![("limit", "1001")], "`limit`"),
            (vec![("cursor", "zz")], "`cursor`"),
            (vec![("cursor", "00")], "`cursor`"),
        ] {
            let e = parse_query(&q(&pairs)).unwrap_err();
            assert!(e.message().contains(needle), "{pairs:?}: {}", e.message());
        }
    }

    #[test]
    fn a_customer_is_found_by_any_format_of_their_number() {
        let f = parse_filter(&q(&[("customer", "0812-3456-7890")]), "query").unwrap();
        let c = f.customer.unwrap();
        for same in ["+6281234567890", "6281234567890"] {
            assert!(c.matches(same), "{same}");
        }
        assert!(!c.matches("+6281234567891"));
        let f = parse_filter(&q(&[("customer", "+62 (812) 3456 7890")]), "query").unwrap();
        assert!(f.customer.unwrap().matches("+6281234567890"));
    }

    #[test]
    fn a_cursor_round_trips_and_belongs_to_its_order() {
        let p = Position {
            updated_ms: 1_764_000_000_123,
            id: CaseId(uuid::Uuid::now_v7()),
        };
        let at = Resume {
            as_of: None,
            newer: false,
            last: Some(p),
        };
        let c = cursor(Order::UpdatedAsc, at);
        assert_eq!(parse_cursor(&c, Order::UpdatedAsc).unwrap(), at);
        let e = parse_cursor(&c, Order::UpdatedDesc).unwrap_err();
        assert!(e.message().contains("`order`"));
        let parsed = parse_query(&q(&[("order", "updated_asc"), ("cursor", &c)])).unwrap();
        assert_eq!(parsed.resume, at);
        for at in [
            Resume {
                as_of: Some(1_764_000_000_000),
                newer: false,
                last: Some(p),
            },
            Resume {
                as_of: Some(1_764_000_000_000),
                newer: true,
                last: None,
            },
        ] {
            let c = cursor(Order::UpdatedDesc, at);
            assert_eq!(parse_cursor(&c, Order::UpdatedDesc).unwrap(), at);
        }
    }

    #[test]
    fn ranks_follow_the_order_with_ids_breaking_ties() {
        let a = CaseId(uuid::Uuid::from_u128(1));
        let b = CaseId(uuid::Uuid::from_u128(2));
        let p = |ms, id| Position { updated_ms: ms, id };
        let desc = |x| rank(Order::UpdatedDesc, x);
        let asc = |x| rank(Order::UpdatedAsc, x);
        assert!(desc(p(20, a)) < desc(p(10, b)), "newer first");
        assert!(desc(p(10, b)) < desc(p(10, a)), "ties: higher id first");
        assert!(asc(p(10, b)) < asc(p(20, a)), "older first");
        assert!(asc(p(10, a)) < asc(p(10, b)), "ties: lower id first");
    }
}
