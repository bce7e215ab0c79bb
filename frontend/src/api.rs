//! The typed client of falscope's `/api`: the only module that touches the network.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use shared::routes::{self, ws};
use shared::{ApiError, Fetched, LiveSnapshot, PublicConfig};

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The request did not complete (offline, server down).
    #[error("falscope is not reachable: {0}")]
    Network(String),
    /// falscope answered with its error body.
    #[error("{0}")]
    Api(ApiError),
    /// The answer could not be read.
    #[error("unexpected answer from falscope: {0}")]
    Decode(String),
}

async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ClientError> {
    let resp = Request::get(path)
        .send()
        .await
        .map_err(|e| ClientError::Network(e.to_string()))?;
    decode(resp).await
}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ClientError> {
    if resp.ok() {
        return resp
            .json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()));
    }
    let status = resp.status();
    match resp.json::<ApiError>().await {
        Ok(err) => Err(ClientError::Api(err)),
        Err(_) => Err(ClientError::Decode(format!(
            "HTTP {status} without an error body"
        ))),
    }
}

/// `GET /api/config`.
pub async fn get_config() -> Result<PublicConfig, ClientError> {
    get_json(routes::CONFIG).await
}

/// `GET /api/ws/{ws}/live`.
pub async fn get_live(workspace: &str) -> Result<Fetched<LiveSnapshot>, ClientError> {
    get_json(&ws::path(ws::LIVE, workspace)).await
}
