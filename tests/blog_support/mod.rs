//! The sites the blog integration tests poll: a WordPress REST API, a comments feed, two
//! broken sites, and a site that redirects into a private server.

#![allow(dead_code)] // each test uses its own part of the sites

pub mod feed;
pub mod redirect;
pub mod wordpress;
