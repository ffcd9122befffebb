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

/// The source address of a request, for the per-address limits: the connection's peer,
/// unless the peer is one of the trusted balancers (`--trusted-proxies`), then the client
/// address they forwarded ([`forwarded_client`]). `None` if actix does not know the peer.
pub fn source_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    let trusted = req.app_data::<web::Data<App>>().map(|app| app.trusted_proxies.clone()).unwrap_or_default();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok());
    Some(forwarded_client(peer, forwarded, &trusted))
}

/// The client address behind trusted balancers: walking `X-Forwarded-For` (every header
/// value, comma-separated, oldest hop first) from the right, the first address that is not a
/// trusted balancer — the one the nearest trusted balancer saw. Anything left of it was written
/// by the client and is not believed. No usable entry: the `peer` itself.
pub fn forwarded_client<'a>(peer: IpAddr, headers: impl Iterator<Item = &'a str>, trusted: &[IpAddr]) -> IpAddr {
    let hops: Vec<&str> = headers.flat_map(|v| v.split(',')).map(str::trim).collect();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // A malformed hop: nothing left of it can be believed either.
            Err(_) => return peer,
        }
    }
    peer
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
    fn the_client_behind_trusted_balancers_is_the_rightmost_untrusted_forwarded_address() {
        let lb: IpAddr = "10.0.0.2".parse().unwrap();
        let edge: IpAddr = "10.0.0.3".parse().unwrap();
        let trusted = [lb, edge];
        let client = |values: &[&str]| forwarded_client(lb, values.iter().copied(), &trusted).to_string();
        assert_eq!(client(&["203.0.113.7"]), "203.0.113.7");
        // A client's own X-Forwarded-For entries stand left of what the balancer appended.
        assert_eq!(client(&["198.51.100.1, 203.0.113.7"]), "203.0.113.7");
        assert_eq!(client(&["198.51.100.1", "203.0.113.7, 10.0.0.3"]), "203.0.113.7", "two balancers, two headers");
        assert_eq!(client(&["2001:db8::1"]), "2001:db8::1");
        // Nothing usable: the balancer itself.
        assert_eq!(client(&[]), "10.0.0.2");
        assert_eq!(client(&["not-an-ip"]), "10.0.0.2");
        assert_eq!(client(&["203.0.113.7, junk"]), "10.0.0.2", "nothing left of a malformed hop is believed");
        assert_eq!(client(&["10.0.0.3"]), "10.0.0.2");
    }

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
