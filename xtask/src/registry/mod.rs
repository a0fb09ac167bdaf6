//! OCI registries: the registry API as data (references, manifests, challenges), where the
//! tools keep registry logins, and asking registries and credential helpers over the wire.

pub mod auth;
pub mod auth_io;
pub mod oci;
pub mod oci_io;
