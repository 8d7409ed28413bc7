//! The meeting API's errors: an HTTP status and a JSON body `{"error": "...", "code": "..."}`
//! whose `code` is stable for programs to branch on.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use videocall_store::StoreError;

use super::{Counters, StoreOp};

/// A refused meeting API request.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for `Retry-After` (429).
    retry_after: Option<u64>,
}

/// What a meeting API handler returns.
pub(crate) type ApiResult = Result<HttpResponse, ApiError>;

impl ApiError {
    /// An error with `status`, stable `code` and a message for people.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// 400: a field of the request is not valid; the code names the field.
    pub(crate) fn invalid(field: &'static str, message: impl fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, field, message.to_string())
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    /// 410 `meeting_ended`.
    pub(crate) fn ended() -> Self {
        Self::new(StatusCode::GONE, "meeting_ended", "the meeting has ended")
    }

    /// 429 `rate_limited`, to retry after `secs`.
    pub(crate) fn rate_limited(secs: u64) -> Self {
        let message = "too many requests from your address; retry later";
        Self {
            retry_after: Some(secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// The API's answer to a store error: not found, ended, a conflict, or (counted) 503.
    pub(crate) fn store(counters: &Counters, err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found("meeting"),
            StoreError::Ended => Self::ended(),
            StoreError::Conflict => {
                Self::new(StatusCode::CONFLICT, "conflict", "the meeting changed meanwhile; retry")
            }
            err => {
                counters.store_error(StoreOp::Api);
                tracing::warn!(%err, "meeting API: store error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the meetings store is unavailable; retry later",
                )
            }
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"videocall\""),
            ));
        }
        response.json(serde_json::json!({ "error": self.message, "code": self.code }))
    }
}
