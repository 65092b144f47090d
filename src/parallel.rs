//! Fanning one step out over many nodes, at most `limit` at a time (`--max-parallel`).
//!
//! Every fan-out over nodes goes through here so the bound holds everywhere: [`for_each`]
//! collects every node's failure rather than stopping at the first, [`map`] returns each
//! node's result in input order, [`try_map`] stops at the first error. A limit of 0 is 1.

use std::future::Future;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::error::{classified, kind_of};

/// Run `step` for every item, `limit` at a time. All results are awaited; the failures come
/// back as one error listing each (classified as the first failure's class).
pub async fn for_each<'a, T, F, Fut>(items: &'a [T], limit: usize, step: F) -> anyhow::Result<()>
where
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + 'a,
{
    let results = map(items, limit, step).await;
    combine(results.into_iter().filter_map(Result::err).collect())
}

/// Run `step` for every item, `limit` at a time, and return every output in the items' order
/// (so callers can zip them with their nodes). A slow item holds only its own slot: the next
/// item starts as soon as any running one finishes.
pub async fn map<I, F, Fut>(items: I, limit: usize, step: F) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    let mut done = Vec::new();
    let Ok(()) = bounded(items.into_iter().map(step), limit, |i, out| {
        done.push((i, out));
        Ok::<(), std::convert::Infallible>(())
    })
    .await;
    in_order(done)
}

/// [`map`] for fallible steps: the outputs in the items' order, or the first error to happen
/// (the steps still running are dropped, as with `try_join_all`).
pub async fn try_map<I, F, Fut, T, E>(items: I, limit: usize, step: F) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut done = Vec::new();
    bounded(items.into_iter().map(step), limit, |i, out| {
        done.push((i, out?));
        Ok(())
    })
    .await?;
    Ok(in_order(done))
}

/// The one place steps run: at most `limit` (at least 1) at once, each output handed to `take`
/// with its step's index as it finishes; an error from `take` stops the rest. A loop rather
/// than `buffer_unordered` over a closure: rustc then proves a spawned caller's future `Send`
/// (see the lock heartbeat).
async fn bounded<S, Fut, E>(
    steps: S,
    limit: usize,
    mut take: impl FnMut(usize, Fut::Output) -> Result<(), E>,
) -> Result<(), E>
where
    S: Iterator<Item = Fut>,
    Fut: Future,
{
    let mut waiting = steps.enumerate();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < limit.max(1) {
            let Some((i, step)) = waiting.next() else {
                break;
            };
            running.push(async move { (i, step.await) });
        }
        match running.next().await {
            Some((i, out)) => take(i, out)?,
            None => return Ok(()),
        }
    }
}

/// Outputs tagged with their index, in index order.
fn in_order<T>(mut done: Vec<(usize, T)>) -> Vec<T> {
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, out)| out).collect()
}

/// One error for several failures, or `Ok` when there are none.
pub fn combine(mut errors: Vec<anyhow::Error>) -> anyhow::Result<()> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        n => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("  - {}", crate::error::display_chain(e)))
                .collect();
            Err(classified(
                kind_of(&errors[0]),
                format!("{n} nodes failed:\n{}", lines.join("\n")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn every_failure_is_reported_with_the_first_class() {
        let items = [1, 2, 3, 4];
        let err = for_each(&items, 2, |i| {
            let i = *i;
            async move {
                if i % 2 == 0 {
                    Err(classified(ErrorKind::Docker, format!("node{i} broke")))
                } else {
                    Ok(())
                }
            }
        })
        .await
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("node2 broke") && text.contains("node4 broke"),
            "{text}"
        );
        assert_eq!(kind_of(&err), ErrorKind::Docker);
        assert!(for_each(&items, 3, |_| async { Ok(()) }).await.is_ok());
    }

    /// Counts the steps running at once and remembers the most seen.
    #[derive(Default, Clone)]
    struct InFlight {
        now: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    impl InFlight {
        /// One step: in, a pause long enough for the others to start (later items pause
        /// less and finish first, so the order `map` returns is really exercised), out.
        async fn step(&self, i: usize) -> usize {
            let running = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(running, Ordering::SeqCst);
            for _ in i..ITEMS + 1 {
                tokio::task::yield_now().await;
            }
            self.now.fetch_sub(1, Ordering::SeqCst);
            i * 10
        }

        fn most(&self) -> usize {
            self.most.load(Ordering::SeqCst)
        }
    }

    const ITEMS: usize = 20;

    #[tokio::test]
    async fn for_each_runs_exactly_limit_steps_at_once() {
        let items: Vec<usize> = (0..ITEMS).collect();
        let seen = InFlight::default();
        let done = AtomicUsize::new(0);
        for_each(&items, 3, |&i| {
            let seen = seen.clone();
            let done = &done;
            async move {
                seen.step(i).await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(seen.most(), 3, "the bound is reached and never passed");
        assert_eq!(done.load(Ordering::SeqCst), ITEMS);
    }

    #[tokio::test]
    async fn map_runs_exactly_limit_steps_at_once_and_keeps_the_order() {
        let seen = InFlight::default();
        let out = map(0..ITEMS, 3, |i| {
            let seen = seen.clone();
            async move { seen.step(i).await }
        })
        .await;
        assert_eq!(seen.most(), 3);
        assert_eq!(out, (0..ITEMS).map(|i| i * 10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn try_map_runs_exactly_limit_steps_at_once_and_keeps_the_order() {
        let seen = InFlight::default();
        let out: Result<Vec<usize>, String> = try_map(0..ITEMS, 3, |i| {
            let seen = seen.clone();
            async move { Ok(seen.step(i).await) }
        })
        .await;
        assert_eq!(seen.most(), 3);
        assert_eq!(out.unwrap(), (0..ITEMS).map(|i| i * 10).collect::<Vec<_>>());

        let failed: Result<Vec<usize>, String> = try_map(0..ITEMS, 3, |i| async move {
            if i == 5 {
                Err(format!("item {i} broke"))
            } else {
                Ok(i)
            }
        })
        .await;
        assert_eq!(failed.unwrap_err(), "item 5 broke");
    }

    #[tokio::test]
    async fn a_slow_item_does_not_hold_back_the_others() {
        let finished = std::sync::Mutex::new(Vec::new());
        let finished = &finished;
        map(0..10, 3, |i| async move {
            // Item 0 takes far longer than the nine others together.
            let pause = if i == 0 { 1000 } else { 1 };
            for _ in 0..pause {
                tokio::task::yield_now().await;
            }
            finished.lock().unwrap().push(i);
        })
        .await;
        assert_eq!(finished.lock().unwrap().last(), Some(&0));
    }

    #[tokio::test]
    async fn a_limit_of_zero_runs_one_step_at_a_time() {
        let items: Vec<usize> = (0..5).collect();
        let seen = InFlight::default();
        for_each(&items, 0, |&i| {
            let seen = seen.clone();
            async move {
                seen.step(i).await;
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(seen.most(), 1);

        let seen = InFlight::default();
        let out = map(0..5, 0, |i| {
            let seen = seen.clone();
            async move { seen.step(i).await }
        })
        .await;
        assert_eq!((seen.most(), out.len()), (1, 5));

        let seen = InFlight::default();
        let out: Result<Vec<usize>, ()> = try_map(0..5, 0, |i| {
            let seen = seen.clone();
            async move { Ok(seen.step(i).await) }
        })
        .await;
        assert_eq!((seen.most(), out.unwrap().len()), (1, 5));
    }
}
