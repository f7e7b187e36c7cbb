//! What the catalogue's test binaries share.

/// The orders service's answer for tests that never download documents as customers.
pub struct NobodyBoughtAnything;

#[async_trait::async_trait]
impl catalog::purchases::Purchases for NobodyBoughtAnything {
    async fn has_bought(
        &self,
        _buyer: &catalog::purchases::Buyer<'_>,
        _book_id: &str,
    ) -> Result<bool, platform::ApiError> {
        Ok(false)
    }
}
