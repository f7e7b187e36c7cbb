//! Book summaries: the consumer of `book.summary_requested`. It reads the book and its document
//! from the catalogue (with the service token), extracts the text, summarises it (a language
//! model through an OpenAI-compatible API, or the built-in extractive summariser when none is
//! configured) and stores the outcome back in the catalogue.
//!
//! Idempotent per book and document: a request whose document already has a ready summary, or
//! whose document has been replaced since, is acknowledged without calling the model, so a
//! redelivery never pays twice.

pub mod extract;
pub mod metrics;
pub mod model;
pub mod text;

use std::time::Duration;

use catalog::books::BookView;
use catalog::summary::{
    MAX_REASON_CHARS, MAX_SUMMARY_CHARS, SummaryMethod, SummaryOutcome, SummaryResult,
    SummaryStatus,
};
use contracts::BookId;
use contracts::events::{BookSummaryRequested, Event};
use platform::auth::{SERVICE_TOKEN_HEADER, ServiceToken};
use platform::messaging::{Delivery, Handler, Outcome};
use reqwest::StatusCode;
use tracing::Instrument;

use self::extract::ExtractError;
use self::metrics::SummaryMetrics;
use self::model::{ModelError, ModelSettings, ModelSummariser};
use self::text::{extractive_summary, truncate_words};

/// The longest extractive summary, in characters.
const EXTRACTIVE_CHARS: usize = 1200;

/// What writes the summaries.
#[derive(Clone)]
pub enum Summariser {
    /// The built-in extractive summariser (no model configured).
    Extractive,
    Model(ModelSettings),
}

/// Where the summary consumer finds the catalogue, and what it summarises with.
#[derive(Clone)]
pub struct SummaryConfig {
    /// Base URL of the catalogue service.
    pub catalog_url: String,
    pub service_token: ServiceToken,
    /// Longest a call to the catalogue may take.
    pub call_timeout: Duration,
    pub summariser: Summariser,
    /// Attempts before a failing request is dead-lettered (the bus's retry policy): on the last
    /// one, the book's summary is marked failed first.
    pub max_attempts: u32,
}

/// The consumer `worker.book-summary`.
pub struct SummaryHandler {
    config: SummaryConfig,
    http: reqwest::Client,
    model: Option<ModelSummariser>,
    metrics: SummaryMetrics,
}

/// Why an attempt did not settle the summary.
enum Failure {
    /// Try again later (the bus's back-off); `Outcome::Retry`.
    Transient(String),
    /// The request can never succeed (the message is unreadable); `Outcome::Reject`.
    Permanent(String),
}

impl SummaryHandler {
    pub fn new(config: SummaryConfig, metrics: SummaryMetrics) -> anyhow::Result<Self> {
        let model = match &config.summariser {
            Summariser::Extractive => None,
            Summariser::Model(settings) => {
                Some(ModelSummariser::new(settings.clone(), metrics.clone())?)
            }
        };
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(config.call_timeout)
                .build()?,
            config,
            model,
            metrics,
        })
    }

    fn url(&self, book_id: &BookId, tail: &str) -> String {
        format!("{}/api/v1/books/{book_id}{tail}", self.config.catalog_url)
    }

    /// The book as the catalogue has it now; `None` once it is deleted.
    async fn book(&self, book_id: &BookId) -> Result<Option<BookView>, Failure> {
        let response = self
            .http
            .get(self.url(book_id, ""))
            .send()
            .await
            .map_err(|err| Failure::Transient(format!("the catalogue cannot be reached: {err}")))?;
        match response.status() {
            StatusCode::OK => response.json().await.map(Some).map_err(|err| {
                Failure::Transient(format!("the catalogue's book cannot be read: {err}"))
            }),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(Failure::Transient(format!(
                "the catalogue answered {status} for the book"
            ))),
        }
    }

    /// The document's bytes, if it is still the one asked about.
    async fn document(&self, book_id: &BookId, sha256: &str) -> Result<Option<Vec<u8>>, Failure> {
        let response = self
            .http
            .get(self.url(book_id, "/document"))
            .header(SERVICE_TOKEN_HEADER, self.config.service_token.as_str())
            .send()
            .await
            .map_err(|err| Failure::Transient(format!("the catalogue cannot be reached: {err}")))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            status => {
                return Err(Failure::Transient(format!(
                    "the catalogue answered {status} for the document"
                )));
            }
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim_matches('"').to_owned());
        if etag.as_deref() != Some(sha256) {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(|err| {
            Failure::Transient(format!("the document could not be downloaded: {err}"))
        })?;
        Ok(Some(bytes.to_vec()))
    }

    /// Stores the outcome. `false` when the catalogue no longer wants it (the book or its
    /// document is gone).
    async fn settle(&self, book_id: &BookId, outcome: &SummaryOutcome) -> Result<bool, Failure> {
        let response = self
            .http
            .put(self.url(book_id, "/summary"))
            .header(SERVICE_TOKEN_HEADER, self.config.service_token.as_str())
            .json(outcome)
            .send()
            .await
            .map_err(|err| Failure::Transient(format!("the catalogue cannot be reached: {err}")))?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND | StatusCode::CONFLICT => Ok(false),
            status if status.is_server_error() => Err(Failure::Transient(format!(
                "the catalogue answered {status} when the summary was stored"
            ))),
            status => Err(Failure::Permanent(format!(
                "the catalogue refused the summary with {status}: {}",
                response.text().await.unwrap_or_default()
            ))),
        }
    }

    /// Makes the summary of `text`: what the result is, or why it failed for good.
    async fn summarise(&self, text: String) -> Result<SummaryResult, ModelError> {
        match &self.model {
            None => {
                let summary = tokio::task::spawn_blocking(move || {
                    extractive_summary(&text, EXTRACTIVE_CHARS)
                })
                .await
                .map_err(|err| ModelError::Permanent(format!("the summariser failed: {err}")))?;
                Ok(SummaryResult::Ready {
                    text: summary,
                    method: SummaryMethod::Extractive,
                    model: None,
                })
            }
            Some(model) => {
                let summary = model.summarise(&text).await?;
                if summary.truncated {
                    tracing::info!(
                        calls = summary.calls,
                        "The document is longer than the summary reads; its start was summarised."
                    );
                }
                Ok(SummaryResult::Ready {
                    text: truncate_words(&summary.text, MAX_SUMMARY_CHARS),
                    method: SummaryMethod::Model,
                    model: Some(model.model().to_owned()),
                })
            }
        }
    }

    async fn attempt(
        &self,
        delivery: &Delivery,
        request: &BookSummaryRequested,
    ) -> Result<&'static str, Failure> {
        let book_id = &request.book_id;
        let sha256 = &request.document_sha256;
        let Some(book) = self.book(book_id).await? else {
            return Ok("skipped");
        };
        if book.document_sha256.as_deref() != Some(sha256.as_str()) {
            tracing::info!("The document was replaced or removed since; nothing to do.");
            return Ok("skipped");
        }
        if book.summary.status == SummaryStatus::Ready
            && book.summary.document_sha256.as_deref() == Some(sha256.as_str())
        {
            tracing::info!("This document already has its summary; nothing to do.");
            return Ok("skipped");
        }
        let Some(kind) = book.document_kind else {
            return Ok("skipped");
        };
        let Some(bytes) = self.document(book_id, sha256).await? else {
            return Ok("skipped");
        };
        let extracted = tokio::task::spawn_blocking(move || extract::text_of(kind, &bytes))
            .await
            .unwrap_or_else(|_| {
                Err(ExtractError::Pdf(
                    "the reader of the document failed".into(),
                ))
            });
        let result = match extracted {
            Err(err) => SummaryResult::Failed {
                reason: truncate_words(&err.to_string(), MAX_REASON_CHARS),
            },
            Ok(text) => match self.summarise(text).await {
                Ok(result) => result,
                Err(ModelError::Permanent(reason)) => SummaryResult::Failed {
                    reason: truncate_words(&reason, MAX_REASON_CHARS),
                },
                Err(ModelError::Transient { message, .. }) => {
                    if delivery.attempt < self.config.max_attempts {
                        return Err(Failure::Transient(message));
                    }
                    // The last attempt: the book says so before the request is dead-lettered.
                    let reason = format!("gave up after {} attempts: {message}", delivery.attempt);
                    self.settle(
                        book_id,
                        &SummaryOutcome {
                            document_sha256: sha256.clone(),
                            result: SummaryResult::Failed {
                                reason: truncate_words(&reason, MAX_REASON_CHARS),
                            },
                        },
                    )
                    .await?;
                    return Err(Failure::Transient(message));
                }
            },
        };
        let outcome = match &result {
            SummaryResult::Ready { .. } => "ready",
            SummaryResult::Failed { .. } => "failed",
        };
        let stored = self
            .settle(
                book_id,
                &SummaryOutcome {
                    document_sha256: sha256.clone(),
                    result,
                },
            )
            .await?;
        Ok(if stored { outcome } else { "skipped" })
    }
}

#[async_trait::async_trait]
impl Handler for SummaryHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let request = match BookSummaryRequested::read(&delivery.envelope) {
            Ok(request) => request,
            Err(err) => {
                self.metrics.outcome("rejected");
                return Outcome::Reject(err);
            }
        };
        let span = tracing::info_span!(
            "summary",
            book_id = %request.book_id,
            attempt = delivery.attempt
        );
        match self.attempt(delivery, &request).instrument(span).await {
            Ok(done) => {
                self.metrics.outcome(done);
                tracing::info!(book_id = %request.book_id, outcome = done, "Summary request handled.");
                Outcome::Ack
            }
            Err(Failure::Transient(message)) => {
                self.metrics.outcome("retry");
                tracing::warn!(book_id = %request.book_id, error = %message, "Summary will be tried again.");
                Outcome::Retry(message)
            }
            Err(Failure::Permanent(message)) => {
                self.metrics.outcome("rejected");
                Outcome::Reject(message)
            }
        }
    }
}
