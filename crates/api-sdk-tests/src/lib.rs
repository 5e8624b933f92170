//! Contract tests of the `api` crate against aws-sdk-elasticache (see `tests/`). The library is
//! empty; the crate exists so the SDK's long build is paid only by whoever runs these tests.
