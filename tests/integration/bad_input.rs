//! Bad input: one broken file never stops the scan of the rest.
