//! A fault: what the API answers instead of a result. It pairs a [`FaultCode`] (the `<Code>`, the
//! HTTP status and whose fault it is all follow from the code) with a human message, and renders
//! the Query protocol's `<ErrorResponse>`.

use crate::xml::{escape_into, NAMESPACE};
use crate::FaultCode;
use std::fmt;

/// An error answer of the API. The control plane returns these from
/// [`ElastiCacheService::call`](crate::ElastiCacheService::call); the wire layer builds them for
/// bad signatures and malformed requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The wire identity: `<Code>`, HTTP status, `Sender`/`Receiver`.
    pub code: FaultCode,
    /// The `<Message>` text.
    pub message: String,
}

impl Fault {
    /// A fault with the given code and message.
    pub fn new(code: FaultCode, message: impl Into<String>) -> Fault {
        Fault {
            code,
            message: message.into(),
        }
    }

    /// `InvalidParameterValue` (400): a parameter's value is wrong.
    pub fn invalid_parameter_value(message: impl Into<String>) -> Fault {
        Fault::new(FaultCode::InvalidParameterValueException, message)
    }

    /// `InvalidParameterCombination` (400): parameters that cannot go together.
    pub fn invalid_parameter_combination(message: impl Into<String>) -> Fault {
        Fault::new(FaultCode::InvalidParameterCombinationException, message)
    }

    /// `MissingParameter` (400) for a required parameter `name` (its full dotted key).
    pub fn missing_parameter(name: &str) -> Fault {
        Fault::new(
            FaultCode::MissingParameter,
            format!("The request must contain the parameter {name}"),
        )
    }

    /// `InternalFailure` (500): the server failed; the message should not leak internals.
    pub fn internal(message: impl Into<String>) -> Fault {
        Fault::new(FaultCode::InternalFailure, message)
    }

    /// The HTTP status this fault is sent with.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The `<ErrorResponse>` document for this fault.
    pub fn to_xml(&self, request_id: &str) -> String {
        let mut out = String::with_capacity(256 + self.message.len());
        out.push_str("<ErrorResponse xmlns=\"");
        out.push_str(NAMESPACE);
        out.push_str("\"><Error><Type>");
        out.push_str(if self.code.is_sender() {
            "Sender"
        } else {
            "Receiver"
        });
        out.push_str("</Type><Code>");
        out.push_str(self.code.code());
        out.push_str("</Code><Message>");
        escape_into(&mut out, &self.message);
        out.push_str("</Message></Error><RequestId>");
        escape_into(&mut out, request_id);
        out.push_str("</RequestId></ErrorResponse>");
        out
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.message)
    }
}

impl std::error::Error for Fault {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_document() {
        let fault = Fault::new(
            FaultCode::CacheClusterNotFoundFault,
            "CacheCluster not found: a<b",
        );
        assert_eq!(fault.http_status(), 404);
        assert_eq!(
            fault.to_xml("51670978-3ef2-41bc-a9c7-1de7f2465e56"),
            "<ErrorResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><Error><Type>Sender</Type>\
             <Code>CacheClusterNotFound</Code><Message>CacheCluster not found: a&lt;b</Message></Error>\
             <RequestId>51670978-3ef2-41bc-a9c7-1de7f2465e56</RequestId></ErrorResponse>"
        );
        let internal = Fault::internal("boom");
        assert!(internal
            .to_xml("r")
            .contains("<Type>Receiver</Type><Code>InternalFailure</Code>"));
        assert_eq!(internal.http_status(), 500);
    }

    #[test]
    fn codes_keep_their_wire_spelling() {
        assert_eq!(
            FaultCode::CacheSecurityGroupQuotaExceededFault.code(),
            "QuotaExceeded.CacheSecurityGroup"
        );
        assert_eq!(
            FaultCode::CacheSubnetGroupNotFoundFault.code(),
            "CacheSubnetGroupNotFoundFault"
        );
        assert_eq!(FaultCode::CacheSubnetGroupNotFoundFault.http_status(), 400);
        assert_eq!(
            FaultCode::ReservedCacheNodeAlreadyExistsFault.http_status(),
            404
        );
        assert_eq!(FaultCode::SignatureDoesNotMatch.http_status(), 403);
        let mut seen = std::collections::HashSet::new();
        for code in FaultCode::ALL {
            assert!(
                seen.insert(code.code()),
                "duplicate wire code {}",
                code.code()
            );
        }
    }
}
