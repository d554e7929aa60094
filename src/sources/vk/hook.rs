//! `POST /hooks/vk/{id}`: the Callback API's confirmation handshake, then each event checked
//! against the community and its secret, with its author's name from `users.get` kept in it.

use super::{VkApi, VkCallback, VkClients, VkError, VkSource, author, read_callback, with_name};
use crate::lead::Channel;
use crate::sources::webhook::{Posted, Refusal, Webhook};
use async_trait::async_trait;
use axum::http::HeaderMap;
use std::time::Duration;

/// How long a callback waits for `users.get` before it is stored without the name (VK
/// retries a callback it does not see answered within seconds).
const NAME_WAIT: Duration = Duration::from_secs(2);

/// One community's callback address.
pub struct VkHook {
    source: VkSource,
    /// The community's client when it has a token: the writers' names.
    names: Option<VkApi>,
}

/// A callback address for every community, reading names through `clients` (the
/// communities' clients by source id) where a community has one.
pub fn webhooks(
    sources: &[VkSource],
    clients: Option<&VkClients>,
) -> impl Iterator<Item = (String, VkHook)> {
    sources.iter().map(move |s| {
        let hook = VkHook {
            source: s.clone(),
            names: clients.and_then(|c| c.0.get(&s.id)).cloned(),
        };
        (s.id.clone(), hook)
    })
}

#[async_trait]
impl Webhook for VkHook {
    fn channel(&self) -> Channel {
        Channel::Vk
    }

    async fn read(&self, _headers: &HeaderMap, body: &[u8]) -> Result<Posted, Refusal> {
        let secret = self.source.secret.as_ref().map(|s| s.expose());
        let callback = read_callback(body, self.source.group_id, secret).map_err(|e| match e {
            VkError::Malformed(_) => Refusal::malformed(e.to_string()),
            VkError::BadSecret | VkError::WrongGroup { .. } => Refusal::forbidden(e.to_string()),
        })?;
        Ok(match callback {
            VkCallback::Confirmation => Posted::answer(self.source.confirmation.clone()),
            VkCallback::Ignored(_) => Posted::answer("ok"),
            VkCallback::Event(mut item) => {
                if let Some(api) = &self.names {
                    item.payload = with_author_name(api, &self.source.id, item.payload).await;
                }
                Posted {
                    items: vec![(self.source.id.clone(), item)],
                    ..Posted::answer("ok")
                }
            }
        })
    }
}

/// The callback with its author's name from `users.get` kept in it, or as it was when VK
/// does not say (the lead goes on with the VK id alone).
async fn with_author_name(api: &VkApi, source: &str, payload: Vec<u8>) -> Vec<u8> {
    let Some(user) = author(&payload) else {
        return payload;
    };
    match api.user_name(user, NAME_WAIT).await {
        Ok(name) if !name.is_empty() => with_name(&payload, &name),
        Ok(_) => payload,
        Err(e) => {
            tracing::warn!(source, error = %e, "VK did not give the person's name (users.get); the lead goes on without it.");
            payload
        }
    }
}
