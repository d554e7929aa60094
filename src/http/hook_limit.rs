//! The rate limit at the providers' doors (`/hooks/...`: a channel's webhook, a form builder's,
//! the CRM's, the managers' bot's). A provider's server posts for many people from a few
//! addresses, so it gets a share of its own (`[server] hook_rate_per_minute`, `hook_rate_burst`),
//! far larger than a visitor's at a form; a request refused for a wrong secret or signature, or
//! a body that does not parse, costs [`REFUSAL_COST`] more of it, so a client guessing secrets
//! is stopped long before a provider sending real events would be.

use super::AppState;
use super::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// How many requests' worth of the share one refused request takes in all.
pub const REFUSAL_COST: u32 = 10;

/// Requests per provider address at the hook doors.
#[derive(Debug, Clone)]
pub struct HookLimiter(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl HookLimiter {
    /// `per_minute` sustained and `burst` at once per client (both at least 1).
    pub fn new(per_minute: u32, burst: u32) -> HookLimiter {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        HookLimiter(Arc::new(RateLimiter::keyed(
            Quota::per_minute(per_minute).allow_burst(burst),
        )))
    }

    /// Takes one request from `client` (a [`crate::config::rate_key`]); when its share is
    /// spent, the seconds to wait.
    pub fn admit(&self, client: IpAddr) -> Result<(), u64> {
        take_one(&self.0, client)
    }

    /// Charges `client` for a refused request: what is left of [`REFUSAL_COST`] after the
    /// request itself, as far as its share goes.
    pub fn charge_refusal(&self, client: IpAddr) {
        for _ in 1..REFUSAL_COST {
            if self.0.check_key(&client).is_err() {
                break;
            }
        }
    }

    /// Forgets clients whose share is full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.0.retain_recent();
    }
}

/// Takes one request of `client`'s share in `limiter`; when it is spent, the seconds to wait
/// (at least one, for `Retry-After`). The forms' per-visitor limit and the hooks' share it.
pub fn take_one(limiter: &DefaultKeyedRateLimiter<IpAddr>, client: IpAddr) -> Result<(), u64> {
    limiter.check_key(&client).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        wait.as_secs().max(1)
    })
}

/// Whether an answer refuses what the client sent (a wrong proof, a body that does not parse),
/// as opposed to a door that is not there or a store that failed.
fn is_refusal(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    )
}

/// Which kind of `/hooks/...` door `path` is: `crm` (a CRM's hooks), `managers` (the
/// managers' bot), else `source` (a channel's webhook or a form builder's).
fn door_of(path: &str) -> &'static str {
    if path.starts_with("/hooks/crm/") {
        "crm"
    } else if path == "/hooks/telegram-managers" {
        "managers"
    } else {
        "source"
    }
}

/// The middleware on every `/hooks/...` route: the client's share checked before anything
/// else, and a refusal charged once it is answered.
pub async fn limit(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let client = (app.config.server.forwarded).limit_key(request.headers(), peer.ip());
    if let Err(wait) = app.hook_limiter.admit(client) {
        // A provider turned away shows on `/metrics`, by door (never by the path's own words).
        (app.metrics)
            .counter(
                "leadgate_hook_rate_limited_total",
                &[("door", door_of(request.uri().path()))],
            )
            .increment(1);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this address; try again shortly",
        );
        e.retry_after = Some(wait);
        return e.into_response();
    }
    let response = next.run(request).await;
    if is_refusal(response.status()) {
        app.hook_limiter.charge_refusal(client);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_spends_ten_requests_of_the_share() {
        let limiter = HookLimiter::new(1, 25);
        let guesser: IpAddr = [198, 51, 100, 7].into();
        let provider: IpAddr = [203, 0, 113, 9].into();
        for _ in 0..2 {
            limiter.admit(guesser).expect("within the share");
            limiter.charge_refusal(guesser);
        }
        limiter.admit(guesser).expect("21 of 25 spent");
        limiter.charge_refusal(guesser);
        let wait = limiter.admit(guesser).expect_err("the share is spent");
        assert!(wait >= 1, "{wait}");
        for n in 0..25 {
            assert!(
                limiter.admit(provider).is_ok(),
                "request {n} of another client"
            );
        }
        assert!(limiter.admit(provider).is_err());
    }
}
