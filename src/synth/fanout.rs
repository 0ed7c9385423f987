//! Blocking subprocess work (Yosys per job, per width) fanned out on
//! threads of its own, never on rayon's global pool: a pool thread that
//! waits minutes for a Yosys process is a thread the bit-exact model, the
//! stimulus generator and every other compute user cannot have (a 0.3 s
//! test took 157 s in the suite while the pool waited on Yosys jobs).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Threads for `jobs` blocking jobs: one per core (each job is one
/// single-threaded process), never more than there are jobs.
pub fn workers(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    jobs.min(cores).max(1)
}

/// Run `f` on every item on [`workers`] scoped threads of their own and
/// return the results in the items' order. After the first error no new
/// item is started; the error of the earliest failing item is returned.
pub fn run<T, R, E>(items: &[T], f: impl Fn(&T) -> Result<R, E> + Sync) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<Result<R, E>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers(items.len()) {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(items.len());
    let mut first_err = None;
    for slot in slots {
        match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {} // not started after an error
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u32> = (0..37).collect();
        let out = run(&items, |&i| Ok::<_, ()>(i * 2)).unwrap();
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(run(&[] as &[u32], |&i| Ok::<_, ()>(i)).unwrap().is_empty());
    }

    #[test]
    fn the_earliest_error_is_returned() {
        let items: Vec<u32> = (0..20).collect();
        let e = run(&items, |&i| if i == 3 || i == 4 { Err(i) } else { Ok(i) }).unwrap_err();
        assert_eq!(e, 3);
    }

    /// The jobs run on threads outside rayon's global pool, even when the
    /// fan-out starts from inside the pool and every pool thread is busy:
    /// the pool's threads stay free for compute.
    #[test]
    fn jobs_do_not_run_on_rayons_global_pool() {
        let items: Vec<u32> = (0..8).collect();
        let on_pool = |_: &u32| Ok::<_, ()>(rayon::current_thread_index());
        assert!(run(&items, on_pool).unwrap().iter().all(Option::is_none));
        // every global pool thread runs a fan-out at the same time
        let threads = rayon::current_num_threads();
        let seen: Vec<Vec<Option<usize>>> = rayon::broadcast(|_| run(&items, on_pool).unwrap());
        assert_eq!(seen.len(), threads);
        assert!(seen.iter().flatten().all(Option::is_none), "{seen:?}");
    }
}
