//! The docker builder, through the real docker CLI and a recording `docker-buildx` plugin.
