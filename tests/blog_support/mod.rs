//! The sites the blog integration tests poll: a WordPress REST API, a comments feed, and two
//! broken sites.

#![allow(dead_code)] // each test uses its own part of the sites

pub mod feed;
pub mod wordpress;
