//! `GET|POST /hooks/whatsapp/{id}`: the verification handshake, then each post's signature
//! over its raw body, and every message and status handed to the source of the number it was
//! sent to.

use super::{WhatsappSource, phone_number_id_of, source_for, split_webhook, verify_signature};
use crate::lead::Channel;
use crate::settings::tokens_match;
use crate::sources::webhook::{Posted, Refusal, Webhook};
use async_trait::async_trait;
use axum::http::HeaderMap;
use std::sync::Arc;

/// The header Meta signs a post's body in.
const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// One source's callback address, with every number's source (one app posts them all here).
pub struct WhatsappHook {
    source: WhatsappSource,
    numbers: Arc<[WhatsappSource]>,
}

/// A callback address for every source.
pub fn webhooks(sources: &[WhatsappSource]) -> impl Iterator<Item = (String, WhatsappHook)> {
    let numbers: Arc<[WhatsappSource]> = sources.into();
    sources.iter().map(move |s| {
        let hook = WhatsappHook {
            source: s.clone(),
            numbers: numbers.clone(),
        };
        (s.id.clone(), hook)
    })
}

#[async_trait]
impl Webhook for WhatsappHook {
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    fn admit(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        match headers.get(SIGNATURE_HEADER) {
            Some(_) => Ok(()),
            None => Err(Refusal::unsigned(
                "bad_signature",
                "X-Hub-Signature-256 is missing",
            )),
        }
    }

    fn handshake(&self, query: Option<&str>) -> Option<Result<String, Refusal>> {
        let (mut mode, mut token, mut challenge) = (None, None, None);
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*key {
                "hub.mode" => mode = Some(value.into_owned()),
                "hub.verify_token" => token = Some(value.into_owned()),
                "hub.challenge" => challenge = Some(value.into_owned()),
                _ => {}
            }
        }
        let token_ok = token.is_some_and(|t| tokens_match(t.as_bytes(), &self.source.verify_token));
        Some(match (mode.as_deref(), token_ok, challenge) {
            (Some("subscribe"), true, Some(challenge)) => Ok(challenge),
            _ => Err(Refusal::forbidden("the verify token does not match")),
        })
    }

    async fn read(&self, headers: &HeaderMap, body: &[u8]) -> Result<Posted, Refusal> {
        let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        let secret = self.source.app_secret.expose().as_bytes();
        if !verify_signature(secret, body, signature) {
            return Err(Refusal::unsigned(
                "bad_signature",
                "X-Hub-Signature-256 does not verify",
            ));
        }
        let items = split_webhook(body).map_err(|e| Refusal::malformed(e.to_string()))?;
        let mut posted = Posted::answer("");
        for item in items {
            let number = phone_number_id_of(&item.payload);
            match source_for(&self.numbers, &self.source, number.as_deref()) {
                Some(to) => posted.items.push((to.id.clone(), item)),
                None => {
                    tracing::debug!(source = %self.source.id, "A WhatsApp webhook item for a number no source takes was left out.");
                }
            }
        }
        Ok(posted)
    }
}
