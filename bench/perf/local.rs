//! 4. The local model (llama.cpp from `scripts/local-llm`).

use super::report::Figure;
use super::{Ctx, Result};

pub fn measure(ctx: &Ctx, _figures: &mut [Figure], notes: &mut Vec<String>) -> Result<()> {
    let _ = ctx;
    notes.push("4. The local model: not measured yet".into());
    Ok(())
}
