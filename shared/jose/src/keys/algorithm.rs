//! Parsing a [`SigningAlgorithm`] (defined below `keys`, beside `jwk`) with [`KeyError`] as
//! the error.

use super::{KeyError, SigningAlgorithm};

impl std::str::FromStr for SigningAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| KeyError::UnsupportedAlgorithm(s.to_owned()))
    }
}
