//! clerk-fauna
