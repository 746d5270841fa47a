//! (in progress: issue 5)
