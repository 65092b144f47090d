//! Running one step on many nodes at once, at most `limit` at a time, collecting every
//! node's failure rather than stopping at the first.

use std::future::Future;

use futures_util::StreamExt;

use crate::error::{classified, kind_of};

/// Run `step` for every item, `limit` at a time. All results are awaited; the failures come
/// back as one error listing each (classified as the first failure's class).
pub async fn for_each<'a, T, F, Fut>(items: &'a [T], limit: usize, step: F) -> anyhow::Result<()>
where
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + 'a,
{
    let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(items.iter().map(&step))
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    combine(results.into_iter().filter_map(Result::err).collect())
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
}
