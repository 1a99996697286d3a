//! Awaiting two independent store operations together, without an async
//! runtime dependency: both futures are polled in turn until both are done,
//! so their round trips overlap instead of adding up.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

/// Runs `first` and `second` concurrently and returns both outputs.
pub(crate) async fn join<A: Future, B: Future>(first: A, second: B) -> (A::Output, B::Output) {
    let mut first = pin!(first);
    let mut second = pin!(second);
    let mut first_out = None;
    let mut second_out = None;
    poll_fn(move |cx| {
        // A finished future is never polled again.
        if first_out.is_none()
            && let Poll::Ready(value) = first.as_mut().poll(cx)
        {
            first_out = Some(value);
        }
        if second_out.is_none()
            && let Poll::Ready(value) = second.as_mut().poll(cx)
        {
            second_out = Some(value);
        }
        match (first_out.take(), second_out.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                first_out = a;
                second_out = b;
                Poll::Pending
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A future that is pending `polls` times before it yields `value`,
    /// waking itself each time.
    async fn after(polls: usize, value: u32) -> u32 {
        let mut left = polls;
        poll_fn(|cx| {
            if left == 0 {
                Poll::Ready(value)
            } else {
                left -= 1;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }

    #[tokio::test]
    async fn both_outputs_come_back_whichever_finishes_first() {
        assert_eq!(join(after(0, 1), after(3, 2)).await, (1, 2));
        assert_eq!(join(after(5, 3), after(0, 4)).await, (3, 4));
        assert_eq!(join(after(2, 5), after(2, 6)).await, (5, 6));
    }

    #[tokio::test]
    async fn the_two_futures_are_in_flight_together() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Each side reports whether the other one had started before it
        // finished: awaited one after the other, the first never sees the
        // second start.
        let started = AtomicUsize::new(0);
        let side = || {
            let started = &started;
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                let mut polls = 0;
                poll_fn(|cx| {
                    polls += 1;
                    if started.load(Ordering::SeqCst) == 2 || polls > 10 {
                        Poll::Ready(started.load(Ordering::SeqCst) == 2)
                    } else {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                })
                .await
            }
        };
        assert_eq!(join(side(), side()).await, (true, true));
    }
}
