//! Fargate's fixed task sizes: which task-level `cpu`/`memory` pairs exist (Linux).
//! Source: container-kb.md §6.1 (AWS `RegisterTaskDefinition.memory` docs).

/// Every CPU size with its memory range (MiB) and step.
const SIZES: &[(u32, u32, u32, u32)] = &[
    // (cpu units, smallest memory, largest memory, step)
    (256, 512, 2048, 0),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// The memory sizes Fargate offers with `cpu` units (empty for an unknown cpu).
pub fn memory_for(cpu: u32) -> Vec<u32> {
    let Some(&(_, low, high, step)) = SIZES.iter().find(|(c, ..)| *c == cpu) else { return Vec::new() };
    if step == 0 {
        // .25 vCPU: 512, 1024, 2048 (not 1536).
        return vec![512, 1024, 2048];
    }
    (low..=high).step_by(step as usize).collect()
}

/// True when Fargate runs a task of this size.
pub fn is_valid(cpu: u32, memory: u32) -> bool {
    memory_for(cpu).contains(&memory)
}

/// The valid pairs, one line per cpu, for error messages.
pub fn valid_pairs() -> String {
    SIZES
        .iter()
        .map(|(cpu, low, high, step)| match step {
            0 => format!("cpu {cpu}: memory 512, 1024, 2048"),
            s => format!("cpu {cpu}: memory {low}-{high} in steps of {s}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for (cpu, mem, ok) in [
            (256, 512, true),
            (256, 1024, true),
            (256, 1536, false),
            (256, 2048, true),
            (256, 4096, false),
            (512, 1024, true),
            (512, 4096, true),
            (512, 512, false),
            (1024, 2048, true),
            (1024, 8192, true),
            (1024, 9216, false),
            (2048, 16384, true),
            (4096, 30720, true),
            (4096, 31744, false),
            (8192, 16384, true),
            (8192, 20480, true),
            (8192, 17408, false),
            (16384, 122880, true),
            (16384, 40960, true),
            (16384, 36864, false),
            (300, 512, false),
        ] {
            assert_eq!(is_valid(cpu, mem), ok, "cpu {cpu} memory {mem}");
        }
        assert!(valid_pairs().contains("cpu 256: memory 512, 1024, 2048"));
        assert!(valid_pairs().contains("cpu 8192: memory 16384-61440 in steps of 4096"));
    }
}
