//! Webhooks: `/v1/webhooks` CRUD, Standard Webhooks signing, and the delivery worker.

pub mod routes;
pub mod worker;
