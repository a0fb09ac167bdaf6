//! Whether a release is all there and consistent: the facts asked of git, the registry,
//! helm and gh, one check per rule, the gates of a promotion and of a GitHub release, the
//! release record, and the signed build provenance.

pub mod checks;
pub mod checks_io;
pub mod facts;
pub mod provenance;
pub mod provenance_io;
pub mod record;
pub mod status;
