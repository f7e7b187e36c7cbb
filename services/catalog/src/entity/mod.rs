//! Tables owned by the catalogue service.

pub mod book;
