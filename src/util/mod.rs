//! Small helpers with no domain of their own: seeded random streams, statistics, and pictures
//! laid out in one image.

pub mod seed;
pub mod sheet;
pub mod stats;
