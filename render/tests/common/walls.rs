//! Walls built in code for the render tests: module types, modules and ports with the
//! defaults the tests do not vary.

use ledwall_render::wall::{ModuleSpec, ModuleTypeSpec, OutputFormat, OutputSpec};

/// A module type with the `direct` mapper.
pub fn mtype(cols: u32, rows: u32, scan: Option<u32>, order: &str) -> ModuleTypeSpec {
    ModuleTypeSpec {
        size: [cols, rows],
        scan,
        mapper: "direct".into(),
        table: None,
        color_order: order.into(),
        serpentine: false,
    }
}

/// A module of type `kind` at `(x, y)`, unrotated, unmirrored, uncalibrated.
pub fn module(kind: &str, x: i64, y: i64) -> ModuleSpec {
    ModuleSpec {
        kind: kind.into(),
        at: [x, y],
        rotate: 0,
        mirror: Default::default(),
        calibration: None,
    }
}

/// A port of `format` on the `null` sink.
pub fn port(name: &str, format: OutputFormat, modules: Vec<ModuleSpec>) -> OutputSpec {
    OutputSpec {
        name: name.into(),
        format,
        sink: "null".into(),
        modules,
        grid: None,
        region: None,
        encoding: None,
    }
}
