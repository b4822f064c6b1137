//! The emitters: each writes one part of the generated module from the model.

// Defined before the emitter modules so that they can use it.
macro_rules! w {
    ($o:expr) => {
        $o.push('\n');
    };
    ($o:expr, $($arg:tt)*) => {
        // Writing to a String cannot fail.
        let _ = writeln!($o, $($arg)*);
    };
}

mod enums;
mod header;
mod table;
mod updates;

pub(crate) use enums::emit_enum;
pub(crate) use header::emit_header;
pub(crate) use table::emit_table;
pub(crate) use updates::emit_updates;
