//! UI-related definitions for rendered content.

mod api;
mod backend;
pub(crate) mod dimension;
mod frame_renderer;
mod input_reader;

pub(crate) use backend::*;
pub(crate) use input_reader::*;

pub use api::*;
