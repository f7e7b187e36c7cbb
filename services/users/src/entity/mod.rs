//! Tables owned by the users service.

pub mod refresh_token;
pub mod user;
