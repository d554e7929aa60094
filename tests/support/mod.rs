//! Test support shared by the integration tests: the daemon on a random port, a headless
//! Chromium over WebDriver, a recording HTTP sink, a host of uploaded files, a CRM simulator (amoCRM, Bitrix24, HubSpot,
//! Pipedrive), a Telegram Bot API simulator, a WhatsApp Cloud API simulator, a VK API simulator, raw HTTP requests, a database of its own on PostgreSQL, the daemon as a process of its own, a real Dovecot for the IMAP
//! tests (with a throw-away CA for its TLS), an SMTP catcher, and the corpus's expectations.

#![allow(dead_code)] // each test binary uses its own part of the support

pub mod bot_api;
pub mod browser;
pub mod certs;
pub mod config;
pub mod crm;
pub mod daemon;
pub mod dovecot;
pub mod expected;
pub mod file_host;
pub mod postgres;
pub mod process;
pub mod raw_http;
pub mod sink;
pub mod smtp;
pub mod vk_api;
pub mod whatsapp_api;

/// Serves `app` on a random port of 127.0.0.1 for the rest of the test; its address.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}
