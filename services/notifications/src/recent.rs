//! A bounded memory of recently seen ids, to drop duplicated deliveries.

use std::collections::{HashSet, VecDeque};

/// The last `capacity` ids, forgetting the oldest first.
pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            ids: HashSet::new(),
        }
    }

    /// Whether `id` is among the recent ids; remembers it if it was not.
    pub fn check_and_insert(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return true;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.order.push_back(id.to_owned());
        self.ids.insert(id.to_owned());
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_ids_until_capacity_then_forgets_the_oldest() {
        let mut recent = RecentIds::new(2);
        assert!(!recent.check_and_insert("a"));
        assert!(recent.check_and_insert("a"));
        assert!(!recent.check_and_insert("b"));
        assert!(!recent.check_and_insert("c"));
        assert!(!recent.check_and_insert("a"), "the oldest id was forgotten");
        assert!(recent.check_and_insert("c"));
    }
}
