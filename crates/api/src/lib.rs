//! The ElastiCache Query protocol (API version 2015-02-02): SigV4 verification, the form binder,
//! the XML writer and faults. Shapes are generated from the AWS API model.
//!
//! Knows nothing of how resources behave: a request becomes a typed operation input handed to
//! a service trait that the `control` crate implements.
