//! Single flight: concurrent callers for one key share one run of the work and its result.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

#[derive(Debug)]
pub struct Flights<K, V> {
    in_flight: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Self {
            in_flight: Mutex::default(),
        }
    }
}

impl<K: Clone + Eq + Hash, V: Clone> Flights<K, V> {
    /// Run `work` for `key` unless a run is already going, in which case wait for it and
    /// return its result. If the caller running the work is cancelled, a waiter takes over
    /// (`OnceCell::get_or_init` semantics), so no waiter is left hanging.
    ///
    /// The work itself must re-check whatever cache the caller consulted first: a flight that
    /// ended between the caller's cache miss and this call has already been removed.
    pub async fn run<F, Fut>(&self, key: &K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = self
            .lock()
            .entry(key.clone())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let value = cell.get_or_init(work).await.clone();
        let mut in_flight = self.lock();
        if in_flight.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            in_flight.remove(key);
        }
        value
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<OnceCell<V>>>> {
        self.in_flight.lock().expect("flight map lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let flights: Arc<Flights<&'static str, Result<u32, String>>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (flights, runs, gate) = (flights.clone(), runs.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                flights
                    .run(&"k", || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        Err::<u32, _>("shared failure".to_owned())
                    })
                    .await
            }));
        }
        // Let every task reach the flight before the work may finish.
        while Arc::strong_count(&flights) > 1
            && flights.lock().get("k").map_or(0, Arc::strong_count) < 21
        {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Err("shared failure".to_owned()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(flights.lock().is_empty(), "finished flights are removed");
    }

    #[tokio::test]
    async fn a_later_call_runs_again() {
        let flights: Flights<u8, u8> = Flights::default();
        assert_eq!(flights.run(&1, || async { 1 }).await, 1);
        assert_eq!(flights.run(&1, || async { 2 }).await, 2);
    }
}
