// TEMPORARY STUB
#![allow(dead_code, unused_variables)]
use crate::config::IpNetwork;
use axum::http::HeaderMap;
use std::net::IpAddr;
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNetwork]) -> IpAddr {
    peer
}
pub(crate) fn client_key(address: IpAddr) -> String {
    address.to_string()
}
