//! App-wide context: the server's public configuration, loaded once.

use crate::api::{self, ClientError};
use leptos::prelude::*;
use shared::PublicConfig;

/// The config resource shared by every page.
#[derive(Clone, Copy)]
pub struct ConfigContext(pub LocalResource<Result<PublicConfig, ClientError>>);

/// Loads the config and puts it in context. Call once, in `App`.
pub fn provide_config() -> ConfigContext {
    let ctx = ConfigContext(LocalResource::new(api::get_config));
    provide_context(ctx);
    ctx
}

/// The config from context.
pub fn use_config() -> ConfigContext {
    expect_context::<ConfigContext>()
}

impl ConfigContext {
    /// The id of the workspace to show (the first configured one).
    pub async fn workspace(self) -> Result<String, ClientError> {
        let config = self.0.await?;
        config
            .workspaces
            .first()
            .map(|w| w.id.clone())
            .ok_or_else(|| ClientError::Decode("falscope reports no workspace".into()))
    }
}
