//! Who is calling, as HTTP sees it: the bearer token of a request, its
//! source address, and the [`AuthenticatedDevice`] extractor (the checks are
//! [`crate::app::auth::authenticate_device`]).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};

use crate::app::auth::{authenticate_device, AuthenticatedDevice};
use crate::app::error::AppError;
use crate::app::App;

/// The bearer token of a request, if it has one.
pub fn bearer_token(req: &HttpRequest) -> Result<String, AppError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("missing Authorization: Bearer token".into()))?;
    let value = value.to_str().map_err(|_| AppError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(AppError::Unauthorized("expected Authorization: Bearer <token>".into())),
    }
}

/// The source address of a request: the connection's peer (`X-Forwarded-For`
/// is never trusted), `None` if actix does not know it.
pub fn source_ip(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

impl FromRequest for AuthenticatedDevice {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = req.app_data::<web::Data<App>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let app = app.ok_or_else(|| AppError::Internal("application state missing".into()))?;
            authenticate_device(&app, &token?).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_trimmed() {
        let req = TestRequest::default().insert_header((header::AUTHORIZATION, "bearer  abc ")).to_http_request();
        assert_eq!(bearer_token(&req).unwrap(), "abc");
    }

    #[test]
    fn a_missing_or_non_bearer_authorization_is_unauthorized() {
        let req = TestRequest::default().to_http_request();
        assert!(matches!(bearer_token(&req), Err(AppError::Unauthorized(_))));
        let req = TestRequest::default().insert_header((header::AUTHORIZATION, "Basic abc")).to_http_request();
        assert!(matches!(bearer_token(&req), Err(AppError::Unauthorized(_))));
        let req = TestRequest::default().insert_header((header::AUTHORIZATION, "Bearer   ")).to_http_request();
        assert!(matches!(bearer_token(&req), Err(AppError::Unauthorized(_))));
    }

    #[test]
    fn the_source_address_is_the_peer_and_unknown_without_one() {
        let req = TestRequest::default().peer_addr("192.0.2.7:40000".parse().unwrap()).to_http_request();
        assert_eq!(source_ip(&req), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(source_ip(&TestRequest::default().to_http_request()), None);
    }
}
