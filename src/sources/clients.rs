//! Clients kept by type: each channel's kind builds its own (a bot's file client, a
//! community's messages client), puts them here, and takes them back by their type, so
//! nothing between the two names the channel.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// Each channel's clients, one value per type.
#[derive(Clone, Default)]
pub struct Clients(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl Clients {
    /// Keeps `client`, in place of any earlier one of its type.
    pub fn insert<T: Any + Send + Sync>(&mut self, client: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(client));
    }

    /// The client of type `T`, when a channel put one here.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// Whether no channel put a client here.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clients({} kinds)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Bots(u32);
    #[derive(Debug, PartialEq)]
    struct Mail(&'static str);

    #[test]
    fn each_client_is_found_by_its_own_type_only() {
        let mut clients = Clients::default();
        assert!(clients.is_empty());
        assert_eq!(clients.get::<Bots>(), None);
        clients.insert(Bots(1));
        clients.insert(Mail("smtp"));
        clients.insert(Bots(2));
        assert_eq!(clients.get::<Bots>(), Some(&Bots(2)));
        assert_eq!(clients.get::<Mail>(), Some(&Mail("smtp")));
        assert!(!clients.is_empty());
    }
}
