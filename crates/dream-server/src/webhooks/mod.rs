//! Webhooks: `/v1/webhooks` CRUD and delivery log ([`routes`]), Standard Webhooks
//! signing ([`sign`]), and the worker that delivers the outbox ([`worker`]).
//!
//! Events ([`crate::events`]) are stored as one pending delivery per subscribed,
//! enabled webhook before anything is sent ([`crate::outbox`]), so a receiver that is
//! down, or a server restart, loses nothing: the worker retries on the Standard
//! Webhooks schedule for about 27.6 hours before it marks a delivery `failed`.

pub mod routes;
pub mod sign;
pub mod worker;
