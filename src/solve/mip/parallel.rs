//! Splitting work over threads.

/// Runs `work(0)`, …, `work(parts − 1)` at once, `work(0)` on the calling thread and
/// each other part on a thread of its own; returns the results in part order. One
/// part runs without spawning anything: spawning a thread can cost as much as a
/// small part's work, and the small windows' bounds, cut bounds and sub-MIP pairs
/// finish sooner when the calling thread takes a part itself (docs/tuning.md).
pub(super) fn in_parts<T: Send>(parts: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    if parts <= 1 {
        return (0..parts).map(&work).collect();
    }
    std::thread::scope(|s| {
        let work = &work;
        let others: Vec<_> = (1..parts).map(|i| s.spawn(move || work(i))).collect();
        let mut out = Vec::with_capacity(parts);
        out.push(work(0));
        out.extend(others.into_iter().map(|h| h.join().expect("worker thread")));
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_in_order() {
        assert_eq!(in_parts(4, |i| i * 10), vec![0, 10, 20, 30]);
        assert_eq!(in_parts(1, |i| i + 7), vec![7]);
        assert!(in_parts(0, |i| i).is_empty());
    }
}
