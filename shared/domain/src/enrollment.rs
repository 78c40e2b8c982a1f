//! Enrollments.
