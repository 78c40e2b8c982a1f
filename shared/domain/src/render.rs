//! Template rendering. OWNER: rendering helper.
