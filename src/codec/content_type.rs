//! Which protocol version a request is, and the headers each version sends.

use crate::error::HttpStatus;
use std::fmt;

/// The media type of remote-write bodies.
pub const MEDIA_TYPE: &str = "application/x-protobuf";
/// The only content encoding remote write uses.
pub const CONTENT_ENCODING: &str = "snappy";
/// Header that carries the protocol version a sender speaks.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";
/// 2.0 response header: float samples written.
pub const SAMPLES_WRITTEN_HEADER: &str = "X-Prometheus-Remote-Write-Samples-Written";
/// 2.0 response header: native histogram samples written.
pub const HISTOGRAMS_WRITTEN_HEADER: &str = "X-Prometheus-Remote-Write-Histograms-Written";
/// 2.0 response header: exemplars written.
pub const EXEMPLARS_WRITTEN_HEADER: &str = "X-Prometheus-Remote-Write-Exemplars-Written";

/// The protobuf message a remote-write body holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// Remote write 1.0: `prometheus.WriteRequest`.
    V1,
    /// Remote write 2.0: `io.prometheus.write.v2.Request`.
    V2,
}

impl Version {
    /// The fully qualified protobuf message name (the `proto=` parameter).
    pub fn proto_message(self) -> &'static str {
        match self {
            Version::V1 => "prometheus.WriteRequest",
            Version::V2 => "io.prometheus.write.v2.Request",
        }
    }

    /// The `Content-Type` a sender uses. 1.0 uses the bare media type, which every 1.x
    /// receiver understands; 2.0 names its message.
    pub fn content_type(self) -> &'static str {
        match self {
            Version::V1 => MEDIA_TYPE,
            Version::V2 => "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        }
    }

    /// The `X-Prometheus-Remote-Write-Version` value a sender uses.
    pub fn version_header(self) -> &'static str {
        match self {
            Version::V1 => "0.1.0",
            Version::V2 => "2.0.0",
        }
    }

    /// All request headers a sender sets for this version, except `User-Agent`.
    pub fn request_headers(self) -> [(&'static str, &'static str); 3] {
        [
            ("Content-Type", self.content_type()),
            ("Content-Encoding", CONTENT_ENCODING),
            (VERSION_HEADER, self.version_header()),
        ]
    }

    /// Chooses the version from a request's `Content-Type`, as the 2.0 spec requires.
    ///
    /// A missing header or the bare media type means 1.0 (what every 1.0 sender sends).
    /// Media type and parameter names compare case-insensitively (RFC 9110); parameters other
    /// than `proto` are ignored.
    ///
    /// # Errors
    /// [`ContentTypeError::UnsupportedMediaType`] for anything but `application/x-protobuf`,
    /// [`ContentTypeError::MalformedParameter`] for a parameter that is not `key=value`,
    /// [`ContentTypeError::UnknownProto`] for a `proto=` naming another message. All are 415.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Version, ContentTypeError> {
        let Some(content_type) = content_type else { return Ok(Version::V1) };
        let mut parts = content_type.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(MEDIA_TYPE) {
            return Err(ContentTypeError::UnsupportedMediaType(content_type.to_string()));
        }
        for param in parts {
            let param = param.trim();
            if param.is_empty() {
                continue;
            }
            let Some((key, value)) = param.split_once('=') else {
                return Err(ContentTypeError::MalformedParameter(content_type.to_string()));
            };
            if !key.trim().eq_ignore_ascii_case("proto") {
                continue;
            }
            let value = value.trim().trim_matches('"');
            return [Version::V1, Version::V2]
                .into_iter()
                .find(|v| v.proto_message() == value)
                .ok_or_else(|| ContentTypeError::UnknownProto(value.to_string()));
        }
        Ok(Version::V1)
    }
}

/// Checks a request's `Content-Encoding`: absent (treated as snappy, like Prometheus) or
/// `snappy`.
///
/// # Errors
/// [`ContentTypeError::UnsupportedEncoding`] (415) for any other encoding.
pub fn check_content_encoding(content_encoding: Option<&str>) -> Result<(), ContentTypeError> {
    match content_encoding.map(str::trim) {
        None => Ok(()),
        Some(e) if e.eq_ignore_ascii_case(CONTENT_ENCODING) => Ok(()),
        Some(e) => Err(ContentTypeError::UnsupportedEncoding(e.to_string())),
    }
}

/// A request whose headers name a format edgewrite does not accept. All map to 415, which
/// tells a 2.0 sender to retry with another content type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentTypeError {
    /// The media type is not `application/x-protobuf`.
    UnsupportedMediaType(String),
    /// A `Content-Type` parameter is not of the form `key=value`.
    MalformedParameter(String),
    /// `proto=` names a message other than the 1.0 and 2.0 requests.
    UnknownProto(String),
    /// `Content-Encoding` is not `snappy`.
    UnsupportedEncoding(String),
}

impl fmt::Display for ContentTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentTypeError::UnsupportedMediaType(got) => write!(
                f,
                "unsupported Content-Type {got:?}; send {MEDIA_TYPE:?} (remote write 1.0) or \
                 {:?} (2.0)",
                Version::V2.content_type()
            ),
            ContentTypeError::MalformedParameter(got) => {
                write!(f, "malformed Content-Type {got:?}: parameters must be key=value")
            }
            ContentTypeError::UnknownProto(got) => write!(
                f,
                "unsupported proto={got:?}; this receiver accepts proto={} and proto={}",
                Version::V1.proto_message(),
                Version::V2.proto_message()
            ),
            ContentTypeError::UnsupportedEncoding(got) => {
                write!(f, "unsupported Content-Encoding {got:?}; remote write bodies must be snappy")
            }
        }
    }
}

impl std::error::Error for ContentTypeError {}

impl HttpStatus for ContentTypeError {
    fn status(&self) -> u16 {
        415
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn chooses_the_version_from_content_type() {
        let v = |ct| Version::from_content_type(ct);
        assert_eq!(v(None), Ok(Version::V1));
        assert_eq!(v(Some("application/x-protobuf")), Ok(Version::V1));
        assert_eq!(v(Some("Application/X-Protobuf ; proto=prometheus.WriteRequest")), Ok(Version::V1));
        assert_eq!(v(Some("application/x-protobuf;proto=io.prometheus.write.v2.Request")), Ok(Version::V2));
        assert_eq!(
            v(Some("application/x-protobuf; charset=binary; proto=\"io.prometheus.write.v2.Request\"")),
            Ok(Version::V2)
        );
        assert_eq!(v(Some(Version::V2.content_type())), Ok(Version::V2));
    }

    #[test]
    fn refuses_unknown_content_types_with_415() {
        let err = Version::from_content_type(Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"))
            .unwrap_err();
        assert_eq!(err, ContentTypeError::UnknownProto("io.prometheus.write.v3.Request".into()));
        assert_eq!(err.status(), 415);
        assert!(err.to_string().contains("proto=io.prometheus.write.v2.Request"), "{err}");
        let err = Version::from_content_type(Some("application/json")).unwrap_err();
        assert!(matches!(err, ContentTypeError::UnsupportedMediaType(_)));
        let err = Version::from_content_type(Some("application/x-protobuf;proto")).unwrap_err();
        assert!(matches!(err, ContentTypeError::MalformedParameter(_)));
    }

    #[test]
    fn accepts_only_snappy_encoding() {
        assert_eq!(check_content_encoding(None), Ok(()));
        assert_eq!(check_content_encoding(Some("Snappy")), Ok(()));
        let err = check_content_encoding(Some("gzip")).unwrap_err();
        assert_eq!(err.status(), 415);
        assert!(err.to_string().contains("\"gzip\""));
    }
}
